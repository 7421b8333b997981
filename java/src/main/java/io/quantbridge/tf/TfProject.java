package io.quantbridge.tf;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The user's TensorFlow project as QuantBridge sees it.
 *
 * @param pythonPath directories put on {@code sys.path}
 * @param graphBuilder {@code package.module:function} that builds the float graph in the default
 *     graph (no weights loaded) and returns a dict of tensor names
 * @param builderKwargs keyword arguments for the builder
 * @param input the model's input tensor name (e.g. {@code input:0})
 * @param outputs the model's output node names (the vendor's {@code output_name_list})
 */
public record TfProject(List<Path> pythonPath, String graphBuilder, Map<String, Object> builderKwargs,
                        String input, List<String> outputs) {
    /** Validates the builder target and names. */
    public TfProject {
        if (graphBuilder == null || !graphBuilder.matches("[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*")) {
            throw new IllegalArgumentException("graph builder must be 'package.module:function', got '" + graphBuilder + "'");
        }
        if (input == null || input.isBlank()) {
            throw new IllegalArgumentException("the model's input tensor name is required (e.g. 'input:0')");
        }
        if (outputs == null || outputs.isEmpty()) {
            throw new IllegalArgumentException("at least one output node name is required (the vendor's output_name_list)");
        }
        pythonPath = List.copyOf(pythonPath);
        builderKwargs = Map.copyOf(builderKwargs);
        outputs = List.copyOf(outputs);
    }
}
