package io.quantbridge.project;

import io.quantbridge.runtime.Targets;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The user's project opened the way the project commands open it, for steps outside
 * {@link Workflow} (the {@code sensitivity} command): the Python path, the {@code --model}
 * check, and the quantizers with TensorFlow's input and output names taken from the options or
 * from the graph builder's dict.
 */
public final class Quantizers {
    private static final String CLI = "quantbridge._cli_support:";

    private Quantizers() {
    }

    /**
     * Puts the project's directories at the front of {@code sys.path} and checks the model
     * target (module and function exist), as {@link Workflow#open} does.
     *
     * @throws QuantBridgeException naming the missing module or function
     */
    public static void open(PythonRuntime rt, ProjectSpec spec) throws QuantBridgeException {
        if (!spec.pythonPath().isEmpty()) {
            rt.addPythonPath(spec.pythonPath().toArray(Path[]::new));
        }
        Targets.check(rt, spec.model(), "--model");
    }

    /** The PyTorch quantizer of {@code spec} ({@code model} is the factory). */
    public static TorchQuantizer torch(PythonRuntime rt, ProjectSpec spec) throws QuantBridgeException {
        return new TorchQuantizer(rt, spec.torchProject());
    }

    /**
     * The TensorFlow quantizer of {@code spec}: the input tensor and output nodes from
     * {@code --input-name} / {@code --output-name}, else from the builder's {@code info["input"]}
     * and {@code info["output"]} (tensor names become node names).
     *
     * @throws QuantBridgeException if a name is neither given nor in the builder's dict
     */
    public static TfQuantizer tensorflow(PythonRuntime rt, ProjectSpec spec) throws QuantBridgeException {
        String input = spec.input();
        List<String> outputs = new ArrayList<>(spec.outputs());
        if (input == null || outputs.isEmpty()) {
            Object info = rt.call(CLI + "tf_graph_info", spec.model(), spec.modelArgs());
            Map<?, ?> names = info instanceof Map<?, ?> m ? m : Map.of();
            if (input == null) {
                input = names.get("input") instanceof String s ? s : null;
                if (input == null) {
                    throw new QuantBridgeException("the graph builder " + spec.model() + " returned " + describe(info)
                            + " without an 'input' entry; return {'input': x.name, 'output': logits.name, ...} or pass "
                            + "--input-name TENSOR");
                }
            }
            if (outputs.isEmpty()) {
                Object out = names.containsKey("output") ? names.get("output") : names.get("outputs");
                if (out instanceof String s) {
                    outputs.add(s);
                } else if (out instanceof List<?> l) {
                    l.forEach(o -> outputs.add(String.valueOf(o)));
                }
                if (outputs.isEmpty()) {
                    throw new QuantBridgeException("the graph builder " + spec.model() + " returned " + describe(info)
                            + " without an 'output' entry; return {'input': x.name, 'output': logits.name, ...} or "
                            + "pass --output-name NODE");
                }
            }
        }
        return new TfQuantizer(rt, spec.tfProject(input, outputs.stream().map(Quantizers::nodeName).toList()));
    }

    private static String describe(Object info) {
        return info instanceof Map<?, ?> m ? "a dict with keys " + m.keySet() : "no dict";
    }

    /** The node name of a tensor name ({@code logits:0} to {@code logits}). */
    static String nodeName(String tensor) {
        int colon = tensor.lastIndexOf(':');
        return colon > 0 && tensor.substring(colon + 1).matches("\\d+") ? tensor.substring(0, colon) : tensor;
    }
}
