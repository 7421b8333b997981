package io.quantbridge.params;

import java.util.Objects;

/**
 * Scale and zero-point arithmetic, the Java twin of the shim's {@code quantbridge.common.qparams}.
 *
 * <p>Conventions (those of ONNX QuantizeLinear / DequantizeLinear):
 * {@code q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)},
 * {@code x' = (q - zero_point) * scale}. Activations: asymmetric uint8 [0, 255] over a range
 * widened to contain 0. Weights: symmetric int8 per output channel, narrow range [-127, 127],
 * zero point 0. Arithmetic is done in the same precision as numpy does it (double where Python
 * uses floats, float32 where numpy arrays are float32), so results match bit for bit.
 */
public final class QParamMath {
    /** Lowest activation code (uint8). */
    public static final int ACT_QMIN = 0;
    /** Highest activation code (uint8). */
    public static final int ACT_QMAX = 255;
    /** Lowest weight code (int8, narrow range). */
    public static final int W_QMIN = -127;
    /** Highest weight code (int8, narrow range). */
    public static final int W_QMAX = 127;
    /** Smallest scale ({@code np.float32(1e-8)}). */
    public static final float EPS = 1e-8f;

    /**
     * A scale and a zero point.
     *
     * @param scale the scale (a float32 value)
     * @param zeroPoint the zero point
     */
    public record Affine(float scale, int zeroPoint) {
    }

    private QParamMath() {
    }

    /** {@code activation_qparams(lo, hi)}: uint8 parameters covering [lo, hi] widened to contain 0. */
    public static Affine activationQParams(double lo, double hi) {
        return activationQParams(lo, hi, ACT_QMIN, ACT_QMAX);
    }

    /** {@code activation_qparams(lo, hi, qmin, qmax)}. */
    public static Affine activationQParams(double lo, double hi, int qmin, int qmax) {
        double l = Math.min(lo, 0.0);
        double h = Math.max(hi, 0.0);
        double scale = Math.max((h - l) / (double) (qmax - qmin), (double) EPS);
        double zp = Math.rint(qmin - l / scale);
        int zeroPoint = (int) Math.max(qmin, Math.min(qmax, zp));
        return new Affine((float) scale, zeroPoint);
    }

    /** {@code weight_qparams(absmax)}: symmetric per-channel scales {@code max(absmax / 127, eps)} in float32. */
    public static float[] weightScales(float[] absmax) {
        return weightScales(absmax, W_QMAX);
    }

    /** {@code weight_qparams(absmax, qmax)}. */
    public static float[] weightScales(float[] absmax, int qmax) {
        float q = qmax;
        float[] out = new float[absmax.length];
        for (int i = 0; i < out.length; i++) {
            float s = absmax[i] / q;
            out[i] = Float.isNaN(s) ? s : Math.max(s, EPS);
        }
        return out;
    }

    /**
     * The largest |w| of each channel along {@code axis} of a row-major tensor.
     *
     * @throws IllegalArgumentException if the data length does not match the shape or the axis is out of range
     */
    public static float[] channelAbsMax(float[] w, long[] shape, int axis) {
        Layout l = Layout.of(w.length, shape, axis);
        float[] out = new float[l.channels];
        for (int i = 0; i < w.length; i++) {
            int c = l.channel(i);
            out[c] = Math.max(out[c], Math.abs(w[i]));
        }
        return out;
    }

    /** {@code fake_quant(x, scale, zero_point, qmin, qmax)} per tensor, float32 like numpy. */
    public static float[] fakeQuant(float[] x, float scale, int zeroPoint, int qmin, int qmax) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = fq(x[i], scale, zeroPoint, qmin, qmax);
        }
        return out;
    }

    /**
     * {@code fake_quant(x, scales, zero_points, qmin, qmax, axis)} per channel, float32 like numpy.
     *
     * @throws IllegalArgumentException if the shape, axis, scale or zero-point counts do not fit
     */
    public static float[] fakeQuant(float[] x, long[] shape, int axis, float[] scales, int[] zeroPoints,
                                    int qmin, int qmax) {
        Layout l = Layout.of(x.length, shape, axis);
        l.checkCount(scales.length, "scales");
        l.checkCount(zeroPoints.length, "zero points");
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            int c = l.channel(i);
            out[i] = fq(x[i], scales[c], zeroPoints[c], qmin, qmax);
        }
        return out;
    }

    /**
     * Symmetric int8 codes {@code clamp(rint(w / scale_c), -127, 127)} per channel along {@code axis}
     * (what the QDQ model stores; DequantizeLinear of them equals {@link #fakeQuant}).
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

    /** Signal-to-quantization-noise ratio in dB (infinite when identical), {@code sqnr_db}. */
    public static double sqnrDb(float[] reference, float[] quantized) {
        if (reference.length != quantized.length) {
            throw new IllegalArgumentException("reference has " + reference.length + " values, quantized "
                    + quantized.length + "; expected the same length");
        }
        double n = 0;
        double s = 0;
        for (int i = 0; i < reference.length; i++) {
            double d = (double) reference[i] - (double) quantized[i];
            n += d * d;
            s += (double) reference[i] * reference[i];
        }
        return n == 0.0 ? Double.POSITIVE_INFINITY : 10.0 * Math.log10(Math.max(s, 1e-30) / n);
    }

    private static float fq(float x, float scale, int zeroPoint, int qmin, int qmax) {
        float z = zeroPoint;
        float q = (float) Math.rint(x / scale) + z;
        q = Math.max(qmin, Math.min(qmax, q));
        return (q - z) * scale;
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
