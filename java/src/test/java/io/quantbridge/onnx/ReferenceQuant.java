package io.quantbridge.onnx;

import io.quantbridge.params.ActivationParams;

/**
 * Plain reference arithmetic for building and checking test models in Java unit tests (the
 * production math is the shim's; its agreement with Java's INT8 codes is tested live in the
 * end-to-end module): per-channel weight scales {@code max|w| / 127} along axis 0, float32 fake
 * quant of such weights, and uint8 activation parameters covering a range.
 */
final class ReferenceQuant {
    private ReferenceQuant() {
    }

    /** Symmetric scales {@code max(absmax_c / 127, 1e-8)} of the channels along axis 0. */
    static float[] weightScales(float[] w, long[] dims) {
        int channels = (int) dims[0];
        int inner = w.length / channels;
        float[] out = new float[channels];
        for (int i = 0; i < w.length; i++) {
            out[i / inner] = Math.max(out[i / inner], Math.abs(w[i]));
        }
        for (int c = 0; c < channels; c++) {
            out[c] = Math.max(out[c] / 127f, 1e-8f);
        }
        return out;
    }

    /** Float32 fake quant {@code clamp(rint(w / s_c), -127, 127) * s_c} along axis 0. */
    static float[] fakeQuantWeights(float[] w, long[] dims, float[] scales) {
        int inner = w.length / (int) dims[0];
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            float s = scales[i / inner];
            out[i] = Math.max(-127f, Math.min(127f, (float) Math.rint(w[i] / s))) * s;
        }
        return out;
    }

    /** uint8 parameters covering {@code [lo, hi]} widened to contain 0. */
    static ActivationParams activation(String tensor, double lo, double hi) {
        double l = Math.min(lo, 0.0);
        double h = Math.max(hi, 0.0);
        double scale = Math.max((h - l) / 255.0, 1e-8);
        int zeroPoint = (int) Math.max(0, Math.min(255, Math.rint(-l / scale)));
        return ActivationParams.uint8(tensor, (float) scale, zeroPoint, lo, hi);
    }
}
