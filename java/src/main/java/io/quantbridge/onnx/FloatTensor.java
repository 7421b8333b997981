package io.quantbridge.onnx;

import java.util.Arrays;
import java.util.Objects;

/**
 * A float tensor as flat row-major data and a shape (what ONNX Runtime is fed and returns).
 *
 * @param data the values, row-major
 * @param shape the dimensions
 */
public record FloatTensor(float[] data, long[] shape) {
    /**
     * Checks that the data length matches the shape.
     *
     * @throws IllegalArgumentException if it does not
     */
    public FloatTensor {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        shape = shape.clone();
        long n = Tensors.elementCount(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values but "
                    + data.length + " arrived");
        }
    }

    /** A tensor from data and {@code int} dimensions (as numpy arrays arrive through JEP). */
    public static FloatTensor of(float[] data, int[] dims) {
        return new FloatTensor(data, Arrays.stream(dims).asLongStream().toArray());
    }

    /** The shape (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Row {@code i} of the first dimension, for shapes {@code [N, ...]}. */
    public float[] row(int i) {
        int width = shape.length == 0 || shape[0] == 0 ? data.length : (int) (data.length / shape[0]);
        return Arrays.copyOfRange(data, i * width, (i + 1) * width);
    }

    /** Index of the largest value in each row of the last dimension (one per row, first wins on ties). */
    public long[] argmaxLastDim() {
        int width = shape.length == 0 ? 1 : (int) shape[shape.length - 1];
        if (width == 0) {
            return new long[0];
        }
        long[] out = new long[data.length / width];
        for (int r = 0; r < out.length; r++) {
            int best = 0;
            for (int j = 1; j < width; j++) {
                if (data[r * width + j] > data[r * width + best]) {
                    best = j;
                }
            }
            out[r] = best;
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatTensor t && Arrays.equals(data, t.data) && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(data) + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return "FloatTensor" + Arrays.toString(shape);
    }
}
