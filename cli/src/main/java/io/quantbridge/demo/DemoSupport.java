package io.quantbridge.demo;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.onnx.OrtLatency;
import io.quantbridge.onnx.OrtSessionRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jep.NDArray;

/** Small helpers shared by the two halves of the demo. */
final class DemoSupport {
    private DemoSupport() {
    }

    static double secs(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static long size(Path p) throws QuantBridgeException {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    static byte[] read(Path p) throws QuantBridgeException {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    static Path mkdirs(Path dir) throws QuantBridgeException {
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    static long[] toLong(int[] dims) {
        long[] out = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dims[i];
        }
        return out;
    }

    /** Row-wise argmax of {@code [N, C]} logits. */
    static long[] argmax(NDArray<?> logits) {
        float[] data = (float[]) logits.getData();
        int classes = logits.getDimensions()[1];
        long[] out = new long[data.length / classes];
        for (int i = 0; i < out.length; i++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (data[i * classes + c] > data[i * classes + best]) {
                    best = c;
                }
            }
            out[i] = best;
        }
        return out;
    }

    /** Labels as longs, whatever integer type numpy gave them. */
    static long[] labels(NDArray<?> y) {
        Object d = y.getData();
        if (d instanceof long[] l) {
            return l;
        }
        int[] i = (int[]) d;
        long[] out = new long[i.length];
        for (int k = 0; k < i.length; k++) {
            out[k] = i[k];
        }
        return out;
    }

    /**
     * The two ONNX rows of an export: the float ONNX and the INT8 QDQ ONNX, each with ONNX Runtime's
     * median latency on {@code x} (2 intra-op threads, measured side by side), the INT8 one scored
     * against {@code labels} in ONNX Runtime (Java).
     */
    static List<DemoRow> onnxRows(String framework, Path out, Path floatOnnx, Path int8Onnx, NDArray<float[]> x,
                                  long[] labels, double exportSecs) throws QuantBridgeException {
        long t0 = System.nanoTime();
        long[] shape = toLong(x.getDimensions());
        long[] int8Pred;
        double[] latency;
        try (OrtSessionRunner floatOrt = new OrtSessionRunner(read(floatOnnx), 2);
             OrtSessionRunner ort = new OrtSessionRunner(read(int8Onnx), 2)) {
            int8Pred = ort.predictArgmax(x.getData(), shape);
            latency = OrtLatency.medians(List.of(floatOrt, ort), x.getData(), shape, 15);
        }
        return List.of(
                new DemoRow(framework, "export: float ONNX (BN folded)", Double.NaN, out.relativize(floatOnnx).toString(),
                        size(floatOnnx), exportSecs, latency[0]),
                new DemoRow(framework, "INT8 QDQ ONNX in ONNX Runtime (Java)", percentEqual(int8Pred, labels),
                        out.relativize(int8Onnx).toString(), size(int8Onnx), secs(t0), latency[1]));
    }

    /** Percentage of positions where {@code a} and {@code b} agree. */
    static double percentEqual(long[] a, long[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) {
            n += a[i] == b[i] ? 1 : 0;
        }
        return 100.0 * n / a.length;
    }
}
