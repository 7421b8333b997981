package io.quantbridge.params;

import java.util.Objects;

/**
 * Activation quantization of one layer's input: per tensor, normally asymmetric uint8.
 *
 * @param tensor the layer's input tensor name in the exported model
 * @param dtype {@code "uint8"} (or {@code "int8"})
 * @param bits 8
 * @param symmetric false for uint8
 * @param scale the scale (a float32 value)
 * @param zeroPoint the zero point
 * @param min the calibrated lower bound
 * @param max the calibrated upper bound
 */
public record ActivationParams(String tensor, String dtype, int bits, boolean symmetric, double scale,
                               int zeroPoint, double min, double max) {
    /** Checks presence of the names. */
    public ActivationParams {
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(dtype, "dtype");
    }

    /** The shim's {@code activation_entry}: uint8, 8 bits, asymmetric. */
    public static ActivationParams uint8(String tensor, double scale, int zeroPoint, double min, double max) {
        return new ActivationParams(tensor, "uint8", 8, false, scale, zeroPoint, min, max);
    }
}
