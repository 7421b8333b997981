package io.quantbridge.onnx;

/**
 * A compute node of a QDQ model fed by DequantizeLinear.
 *
 * @param node the node name
 * @param opType its op type (Conv, Gemm, MatMul, ...)
 * @param weight its int8 weight, or null
 * @param activation its quantized activation input, or null
 */
public record QuantizedNode(String node, String opType, QuantizedTensor weight, QuantizedTensor activation) {
}
