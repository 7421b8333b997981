package io.quantbridge.onnx;

import io.quantbridge.QuantBridgeException;

import java.util.Arrays;
import java.util.List;

/** Latency of ONNX Runtime sessions measured side by side: interleaved rounds, medians. */
public final class OrtLatency {
    private OrtLatency() {
    }

    /**
     * Median milliseconds of one run of each session on {@code x}, over {@code rounds} rounds in which
     * every session runs once (the order rotates each round), after one warm-up run each.
     *
     * @throws QuantBridgeException if a run fails
     * @throws IllegalArgumentException if {@code rounds < 1}
     */
    public static double[] medians(List<OrtSessionRunner> sessions, float[] x, long[] shape, int rounds)
            throws QuantBridgeException {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds is " + rounds + "; expected 1 or more");
        }
        int n = sessions.size();
        double[][] t = new double[n][rounds];
        for (OrtSessionRunner s : sessions) {
            s.run(x, shape);
        }
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < n; i++) {
                int k = (i + r) % n;
                long t0 = System.nanoTime();
                sessions.get(k).run(x, shape);
                t[k][r] = (System.nanoTime() - t0) / 1e6;
            }
        }
        double[] med = new double[n];
        for (int i = 0; i < n; i++) {
            double[] v = t[i].clone();
            Arrays.sort(v);
            med[i] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
        return med;
    }
}
