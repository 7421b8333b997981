package io.quantbridge.params;

import java.util.Objects;

/**
 * The integer side of a weight's quantization, which only the INT8 QDQ ONNX needs: the int8
 * codes of a float weight for per-channel symmetric scales.
 *
 * <p>The shim owns the quantization math (the scales, the zero points, fake quant:
 * {@code quantbridge.common.qparams}); Java reads the scales it returns. The codes follow ONNX
 * QuantizeLinear, {@code q = clamp(round_half_even(w / scale), -127, 127)} per output channel,
 * so DequantizeLinear of them is the shim's fake-quantized weight bit for bit (checked live by the
 * end-to-end test {@code ShimParityTest}).
 */
public final class QParamMath {
    /** Lowest weight code (int8, narrow range). */
    public static final int W_QMIN = -127;
    /** Highest weight code (int8, narrow range). */
    public static final int W_QMAX = 127;

    private QParamMath() {
    }

    /**
     * Symmetric int8 codes {@code clamp(rint(w / scale_c), -127, 127)} per channel along {@code axis}
     * (what the QDQ model stores).
     *
     * @throws IllegalArgumentException if the shape, axis or scale count do not fit
     */
    public static byte[] quantizeSymmetric(float[] w, long[] shape, int axis, float[] scales) {
        Layout l = Layout.of(w.length, shape, axis);
        l.checkCount(scales.length, "scales");
        byte[] out = new byte[w.length];
        for (int i = 0; i < w.length; i++) {
            float q = (float) Math.rint(w[i] / scales[l.channel(i)]);
            out[i] = (byte) Math.max(W_QMIN, Math.min(W_QMAX, q));
        }
        return out;
    }

    /** Row-major index to channel along one axis. */
    private static final class Layout {
        final int channels;
        final long inner;

        private Layout(int channels, long inner) {
            this.channels = channels;
            this.inner = inner;
        }

        static Layout of(int length, long[] shape, int axis) {
            Objects.requireNonNull(shape, "shape");
            if (axis < 0 || axis >= shape.length) {
                throw new IllegalArgumentException("axis " + axis + " is out of range for shape "
                        + java.util.Arrays.toString(shape) + "; expected 0.." + (shape.length - 1));
            }
            long total = 1;
            long inner = 1;
            for (int d = 0; d < shape.length; d++) {
                total *= shape[d];
                if (d > axis) {
                    inner *= shape[d];
                }
            }
            if (total != length) {
                throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " holds " + total
                        + " values but " + length + " arrived");
            }
            return new Layout(Math.toIntExact(shape[axis]), inner);
        }

        int channel(int index) {
            return (int) ((index / inner) % channels);
        }

        void checkCount(int n, String what) {
            if (n != channels) {
                throw new IllegalArgumentException(n + " " + what + " for " + channels
                        + " channels; expected one per channel");
            }
        }
    }
}
