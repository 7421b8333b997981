package io.quantbridge.onnx;

import io.quantbridge.QuantBridgeException;

import java.util.Arrays;
import java.util.List;

/**
 * Latency of ONNX Runtime sessions measured side by side: interleaved rounds of settled blocks,
 * medians.
 *
 * <p>ONNX Runtime's intra-op threads spin for a while after each run. When two sessions alternate
 * run by run, the first run of one session competes with the other session's still-spinning
 * threads, which on a 2-core machine doubles or triples its time: a measurement of the
 * interleaving, not of the models. So every round gives each session {@value #SETTLE} untimed
 * runs (the previous session's threads settle, caches fill) and then {@value #BLOCK} timed runs;
 * the rounds still interleave (the order rotates each round), so a change of machine load
 * during the measurement touches every session alike.
 */
public final class OrtLatency {
    /** Untimed runs of a session at the start of its block in every round. */
    public static final int SETTLE = 2;
    /** Timed runs of a session per round. */
    public static final int BLOCK = 5;

    private OrtLatency() {
    }

    /**
     * Median milliseconds of one run of each session on {@code x}: {@code rounds} rounds in which
     * every session runs {@value #SETTLE} untimed then {@value #BLOCK} timed runs (the order
     * rotates each round); the median is over all timed runs of the session.
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
        double[][] t = new double[n][rounds * BLOCK];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < n; i++) {
                int k = (i + r) % n;
                OrtSessionRunner s = sessions.get(k);
                for (int w = 0; w < SETTLE; w++) {
                    s.run(x, shape);
                }
                for (int b = 0; b < BLOCK; b++) {
                    long t0 = System.nanoTime();
                    s.run(x, shape);
                    t[k][r * BLOCK + b] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        double[] med = new double[n];
        for (int i = 0; i < n; i++) {
            med[i] = median(t[i]);
        }
        return med;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
