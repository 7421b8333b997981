package io.quantbridge.params;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

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
 * @param channelAxes empty for one channel axis; else all channel axes (the file's {@code "channel_axes"}
 *     instead of {@code "axis"}), {@code axis} being the first
 * @param copies other initializers holding the same layer's weight, read by other nodes of the layer
 *     (e.g. a copy with a BatchNorm folded in by the exporter for one call only): each with its own
 *     tensor, axis, scales and zero points, the dtype, bits and symmetry of this entry, and no copies
 */
public record WeightParams(String tensor, String dtype, int bits, boolean symmetric, int axis,
                           List<Double> scale, List<Integer> zeroPoint, List<WeightParams> copies,
                           List<Integer> channelAxes) {
    /**
     * Checks presence, that scale and zero point have the same, non-zero length, and that the copies
     * name distinct other tensors and have no copies themselves.
     *
     * @throws IllegalArgumentException if they do not
     */
    public WeightParams {
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(dtype, "dtype");
        scale = List.copyOf(scale);
        zeroPoint = List.copyOf(zeroPoint);
        copies = copies == null ? List.of() : List.copyOf(copies);
        channelAxes = channelAxes == null ? List.of() : List.copyOf(channelAxes);
        if (!channelAxes.isEmpty() && channelAxes.get(0) != axis) {
            throw new IllegalArgumentException("weight " + tensor + ": axis " + axis + " must be the first of the channel axes "
                    + channelAxes);
        }
        if (scale.isEmpty() || scale.size() != zeroPoint.size()) {
            throw new IllegalArgumentException("weight " + tensor + ": " + scale.size() + " scales and "
                    + zeroPoint.size() + " zero points; expected the same non-zero count");
        }
        Set<String> names = new HashSet<>(List.of(tensor));
        for (WeightParams c : copies) {
            if (!c.copies().isEmpty() || !names.add(c.tensor())) {
                throw new IllegalArgumentException("weight " + tensor + ": copy " + c.tensor() + " repeats a tensor "
                        + "or has copies itself; expected distinct other tensors");
            }
        }
    }

    /** A weight with one channel axis. */
    public WeightParams(String tensor, String dtype, int bits, boolean symmetric, int axis,
                        List<Double> scale, List<Integer> zeroPoint, List<WeightParams> copies) {
        this(tensor, dtype, bits, symmetric, axis, scale, zeroPoint, copies, List.of());
    }

    /** A weight with one channel axis and no copies. */
    public WeightParams(String tensor, String dtype, int bits, boolean symmetric, int axis,
                        List<Double> scale, List<Integer> zeroPoint) {
        this(tensor, dtype, bits, symmetric, axis, scale, zeroPoint, List.of(), List.of());
    }

    /**
     * True when the channels span several axes (a TensorFlow depthwise filter with a channel
     * multiplier above 1: {@code "channel_axes": [2, 3]}, scales ordered first axis major).
     */
    public boolean multiAxis() {
        return channelAxes.size() > 1;
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

    /** A copy of this weight for another initializer: this entry's dtype, bits and symmetry, no copies. */
    public WeightParams copyFor(String copyTensor, int copyAxis, List<Double> copyScale, List<Integer> copyZeroPoint) {
        return new WeightParams(copyTensor, dtype, bits, symmetric, copyAxis, copyScale, copyZeroPoint);
    }

    /** The parameters for initializer {@code name}: this entry, one of its copies, or null if neither names it. */
    public WeightParams forTensor(String name) {
        if (tensor.equals(name)) {
            return this;
        }
        return copies.stream().filter(c -> c.tensor().equals(name)).findFirst().orElse(null);
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
