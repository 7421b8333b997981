package io.quantbridge.onnx;

import java.util.List;
import java.util.Map;

/**
 * A plain summary of an ONNX model.
 *
 * @param irVersion the IR version
 * @param opset the default-domain opset, or -1 if none is imported
 * @param producer producer name and version
 * @param nodes the number of nodes in the main graph
 * @param opCounts node count per op type, most frequent first
 * @param conv Conv and ConvTranspose nodes
 * @param gemm Gemm nodes
 * @param matMul MatMul nodes
 * @param batchNorm true if BatchNormalization nodes remain (not folded)
 * @param quantizeLinear QuantizeLinear nodes
 * @param dequantizeLinear DequantizeLinear nodes
 * @param initializers the number of initializers
 * @param inputs graph inputs that are not initializers
 * @param outputs graph outputs
 */
public record ModelSummary(long irVersion, long opset, String producer, int nodes, Map<String, Integer> opCounts,
                           int conv, int gemm, int matMul, boolean batchNorm, int quantizeLinear,
                           int dequantizeLinear, int initializers, List<String> inputs, List<String> outputs) {
    /** Copies the collections. */
    public ModelSummary {
        opCounts = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(opCounts));
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** True if the model has Q/DQ nodes. */
    public boolean isQuantized() {
        return quantizeLinear > 0 || dequantizeLinear > 0;
    }
}
