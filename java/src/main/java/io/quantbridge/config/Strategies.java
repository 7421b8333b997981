package io.quantbridge.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The quantization strategies QuantBridge supports per op type ({@code "float"} always).
 *
 * <p>The table is the shim's {@code config_rules.json} (one table for both languages):
 * {@value #INT8} (8-bit activations, 8-bit weights) is supported for PyTorch
 * {@code Conv1d}, {@code Conv2d}, {@code ConvTranspose2d}, {@code Linear} and TensorFlow
 * {@code Conv2D}, {@code MatMul}, {@code DepthwiseConv2dNative}; every other op type stays float.
 */
public final class Strategies {
    /** Leave the layer in floating point. */
    public static final String FLOAT = "float";
    /** 8-bit activations (uint8, per tensor), 8-bit weights (int8, per output channel). */
    public static final String INT8 = "Quant_INT8-8";
    /** PyTorch op type of {@code torch.nn.Conv2d}. */
    public static final String TORCH_CONV2D = "<class 'torch.nn.modules.conv.Conv2d'>";
    /** PyTorch op type of {@code torch.nn.Conv1d}. */
    public static final String TORCH_CONV1D = "<class 'torch.nn.modules.conv.Conv1d'>";
    /** PyTorch op type of {@code torch.nn.ConvTranspose2d}. */
    public static final String TORCH_CONV_TRANSPOSE2D = "<class 'torch.nn.modules.conv.ConvTranspose2d'>";
    /** PyTorch op type of {@code torch.nn.Linear}. */
    public static final String TORCH_LINEAR = "<class 'torch.nn.modules.linear.Linear'>";

    private static final String HINT_PREFIX = ConfigRules.get("hint").get("prefix").textValue();
    private static final String HINT_SUFFIX = ConfigRules.get("hint").get("suffix").textValue();
    /** Op type to its strategies besides float: the table of {@code config_rules.json}, shared with the shim. */
    private static final Map<String, List<String>> QUANTIZED = quantizedTable();

    private static Map<String, List<String>> quantizedTable() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        ConfigRules.get("quantized").fields().forEachRemaining(e -> {
            List<String> list = new ArrayList<>();
            e.getValue().forEach(v -> list.add(v.textValue()));
            out.put(e.getKey(), List.copyOf(list));
        });
        return Map.copyOf(out);
    }

    private Strategies() {
    }

    /** Every strategy allowed for {@code opType}: {@code "float"} first, then the quantized ones. */
    public static List<String> supported(String opType) {
        List<String> all = new ArrayList<>();
        all.add(FLOAT);
        all.addAll(quantized(opType));
        return List.copyOf(all);
    }

    /** The strategies besides {@code "float"} for {@code opType} (empty if it cannot be quantized). */
    public static List<String> quantized(String opType) {
        return opType == null ? List.of() : QUANTIZED.getOrDefault(opType, List.of());
    }

    /** True if {@code strategy} is allowed for {@code opType}. */
    public static boolean isSupported(String opType, String strategy) {
        return FLOAT.equals(strategy) || quantized(opType).contains(strategy);
    }

    /** True if some strategy other than {@code "float"} exists for {@code opType}. */
    public static boolean isQuantizable(String opType) {
        return !quantized(opType).isEmpty();
    }

    /** The config's hint key for an op type: {@code quant_strategy_for op '<op type>'}. */
    public static String hintKey(String opType) {
        return HINT_PREFIX + opType + HINT_SUFFIX;
    }

    /** The op type named by a hint key, or empty if {@code key} is not one. */
    public static Optional<String> opTypeOfHintKey(String key) {
        if (key != null && key.startsWith(HINT_PREFIX) && key.endsWith(HINT_SUFFIX)
                && key.length() > HINT_PREFIX.length()) {
            return Optional.of(key.substring(HINT_PREFIX.length(), key.length() - HINT_SUFFIX.length()));
        }
        return Optional.empty();
    }
}
