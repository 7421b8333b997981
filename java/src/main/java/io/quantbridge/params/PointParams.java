package io.quantbridge.params;

import java.util.Objects;

/**
 * A derived quantization point (parameter file version 2): a tensor quantized once for all its
 * consumers so that ONNX Runtime can run the neighbouring layers in integer (a quantized layer's
 * output after BatchNorm folding and ReLU, the inputs and output of a residual add).
 *
 * @param name the point's name (the traced node it was derived from)
 * @param tensor the tensor in the exported float model
 * @param owner the layer whose input quantizer serves the point (same parameters as its
 *     activation), or null for a quantizer of its own
 * @param mirrorOf the point after a value-transparent op (MaxPool, Flatten) whose parameters this
 *     one repeats, or null
 * @param quant the quantization: uint8, per tensor ({@code bits} 7 with reduce_range)
 */
public record PointParams(String name, String tensor, String owner, String mirrorOf, ActivationParams quant) {
    /** Checks presence of name, tensor and parameters. */
    public PointParams {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(quant, "quant");
    }
}
