package io.quantbridge.onnx;

import java.util.List;

/**
 * The quantization of one tensor as a QDQ model stores it.
 *
 * @param tensor for a weight the int8 initializer's name, for an activation the float tensor
 *     that QuantizeLinear reads
 * @param dtype {@code "int8"} or {@code "uint8"} (the zero point's type)
 * @param shape the int8 initializer's dims for a weight, empty for an activation
 * @param axis the DequantizeLinear axis for per-channel scales, or null when per tensor
 * @param scales the scales (one per channel, or one)
 * @param zeroPoints the zero points, as many as scales
 */
public record QuantizedTensor(String tensor, String dtype, List<Long> shape, Integer axis,
                              List<Double> scales, List<Integer> zeroPoints) {
    /** Copies the lists. */
    public QuantizedTensor {
        shape = List.copyOf(shape);
        scales = List.copyOf(scales);
        zeroPoints = List.copyOf(zeroPoints);
    }
}
