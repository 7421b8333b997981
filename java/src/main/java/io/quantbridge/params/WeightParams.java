package io.quantbridge.params;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Weight quantization of one layer: symmetric int8, one scale per channel along {@code axis}.
 *
 * @param tensor the weight initializer (ONNX) or Const (TF) name in the exported model
 * @param dtype {@code "int8"}
 * @param bits 8
 * @param symmetric true
 * @param axis the channel axis of that tensor
 * @param scale one scale per channel (float32 values)
 * @param zeroPoint one zero point per channel (0 when symmetric)
 */
public record WeightParams(String tensor, String dtype, int bits, boolean symmetric, int axis,
                           List<Double> scale, List<Integer> zeroPoint) {
    /**
     * Checks presence and that scale and zero point have the same, non-zero length.
     *
     * @throws IllegalArgumentException if they do not
     */
    public WeightParams {
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(dtype, "dtype");
        scale = List.copyOf(scale);
        zeroPoint = List.copyOf(zeroPoint);
        if (scale.isEmpty() || scale.size() != zeroPoint.size()) {
            throw new IllegalArgumentException("weight " + tensor + ": " + scale.size() + " scales and "
                    + zeroPoint.size() + " zero points; expected the same non-zero count");
        }
    }

    /** The shim's {@code weight_entry}: int8, 8 bits, symmetric, zero points 0. */
    public static WeightParams symmetricInt8(String tensor, int axis, float[] scales) {
        List<Double> s = new ArrayList<>(scales.length);
        List<Integer> z = new ArrayList<>(scales.length);
        for (float f : scales) {
            s.add((double) f);
            z.add(0);
        }
        return new WeightParams(tensor, "int8", 8, true, axis, s, z);
    }

    /** The scales as float32. */
    public float[] scales() {
        float[] out = new float[scale.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = scale.get(i).floatValue();
        }
        return out;
    }

    /** The zero points as an array. */
    public int[] zeroPoints() {
        return zeroPoint.stream().mapToInt(Integer::intValue).toArray();
    }
}
