package io.quantbridge.config;

import io.quantbridge.json.PythonRepr;
import java.util.Arrays;

/** The training framework a config or parameter file belongs to. */
public enum Framework {
    /** PyTorch: op types look like {@code <class 'torch.nn.modules.conv.Conv2d'>}. */
    TORCH("torch"),
    /** TensorFlow (graph mode): op types are TF op names such as {@code Conv2D}. */
    TENSORFLOW("tensorflow");

    private final String id;

    Framework(String id) {
        this.id = id;
    }

    /** The name used in files and by the shim: {@code "torch"} or {@code "tensorflow"}. */
    public String id() {
        return id;
    }

    /**
     * The framework with this {@link #id()}.
     *
     * @throws IllegalArgumentException if {@code id} is neither {@code "torch"} nor {@code "tensorflow"}
     */
    public static Framework fromId(String id) {
        for (Framework f : values()) {
            if (f.id.equals(id)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown framework " + PythonRepr.of(id) + "; expected one of "
                + PythonRepr.of(Arrays.stream(values()).map(Framework::id).toList()));
    }

    /** True if {@code opType} is a PyTorch module class string ({@code <class 'torch....'>}). */
    public static boolean isTorchOpType(String opType) {
        return opType != null && opType.startsWith("<class 'torch.");
    }
}
