package io.quantbridge.params;

import java.util.Objects;

/**
 * One layer of the parameter file.
 *
 * @param name the layer name as in the config
 * @param opType the layer's op type as in the config
 * @param quantStrategy {@code "float"} or a strategy such as {@code "Quant_INT8-8"}
 * @param node the node (ONNX) or op (TF) name in the exported model, or null if unknown
 * @param weight weight parameters, null for float layers
 * @param activation activation parameters, null for float layers
 */
public record LayerParams(String name, String opType, String quantStrategy, String node,
                          WeightParams weight, ActivationParams activation) {
    /** Checks presence of name, op type and strategy. */
    public LayerParams {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(quantStrategy, "quantStrategy");
    }

    /** True unless the strategy is {@code "float"}. */
    public boolean isQuantized() {
        return !"float".equals(quantStrategy);
    }
}
