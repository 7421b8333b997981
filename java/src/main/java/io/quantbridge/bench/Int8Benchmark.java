package io.quantbridge.bench;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.onnx.CpuFeatures;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtLatency;
import io.quantbridge.onnx.OrtOptimized;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.onnx.QdqBuilder;
import io.quantbridge.onnx.WeightType;
import io.quantbridge.project.TextTable;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchExport;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import jep.NDArray;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The INT8 benchmark: for each model, QuantBridge's INT8 ONNX (uint8 weights, the default; the same
 * parameters with int8 weights; 7-bit activations with int8 weights) and ONNX Runtime's own
 * {@code quantize_static} (QDQ, per channel, U8S8) of the same float ONNX, against the float ONNX:
 * latency at batch 1 and 32 (medians over interleaved rounds of settled blocks, 2 intra-op threads; see OrtLatency), size, agreement,
 * relative output error and the integer kernels ONNX Runtime runs.
 *
 * <p>The models come from {@code benchmarks/int8_models.py}: torchvision resnet18 and
 * mobilenet_v2 ({@code num_classes=10}, input 3x64x64), trained briefly on scikit-learn's digits
 * scaled to 64x64, all layers {@code Quant_INT8-8}, calibrated (minmax) on 8 training batches.
 */
public final class Int8Benchmark {
    /** Options: models, rounds, threads, training steps, output directory. */
    public record Options(List<String> models, int rounds, int threads, int trainEpochs, Path outDir, Path benchDir) { }

    /** One result line. */
    public record Row(String model, String variant, int batch, double millis, double ratio, double sizeRatio,
                      double agreement, double relativeError, int integerKernels) { }

    private final PythonRuntime rt;
    private final Options options;
    private final PrintStream out;

    /** A benchmark over {@code rt}, printing progress to {@code out}. */
    public Int8Benchmark(PythonRuntime rt, Options options, PrintStream out) {
        this.rt = rt;
        this.options = options;
        this.out = out;
    }

    /** Runs every model; returns the rows (also printed as a table at the end). */
    public List<Row> run() throws QuantBridgeException {
        out.println("CPU: " + CpuFeatures.u8s8CanSaturate().map(s -> s
                ? "x86 without VNNI: ONNX Runtime's u8*s8 kernels (int8 weights) can saturate here; uint8 weights are exact"
                : "VNNI or not x86: int8 and uint8 weights both compute the fake-quant model's numbers").orElse("flags unknown"));
        List<Row> rows = new ArrayList<>();
        for (String model : options.models()) {
            rows.addAll(runModel(model));
        }
        return rows;
    }

    private List<Row> runModel(String name) throws QuantBridgeException {
        Path dir = options.outDir().resolve(name);
        try {
            Files.createDirectories(dir.resolve("reduce_range"));
        } catch (IOException e) {
            throw new QuantBridgeException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of("int8_models:" + name, options.benchDir()));
        out.println(name + ": training " + options.trainEpochs() + " epoch(s) on digits 3x64x64, calibrating, exporting");
        Path ortInt8 = dir.resolve(name + "_ort_int8.onnx");
        NDArray<?> xs = (NDArray<?>) rt.call("int8_models:test_inputs");
        float[] x = (float[]) xs.getData();
        int[] dims = xs.getDimensions();
        Variant exact;
        Variant reduced;
        try (PyHandle model = q.newFloatModel()) {
            Object acc = rt.call("int8_models:train", List.of(model), Map.of("epochs", options.trainEpochs()), null);
            out.printf(Locale.ROOT, "%s: float test accuracy %.1f%%%n", name, ((Number) acc).doubleValue());
            // the default config (integer-kernel points on, uint8 weights), and the same with 7-bit activations
            try (PyHandle copy = (PyHandle) rt.call("copy:deepcopy", model)) {
                exact = quantize(q, model, dir, name, false, xs);
                reduced = quantize(q, copy, dir.resolve("reduce_range"), name, true, xs);
            }
        }
        rt.call("int8_models:ort_quantize", exact.files().floatOnnx().toString(), ortInt8.toString());
        long[] shape = Arrays.stream(dims).asLongStream().toArray();
        record Candidate(String variant, Path file, FloatTensor reference) { }
        List<Candidate> candidates = List.of(
                new Candidate("float ONNX", exact.files().floatOnnx(), null),
                new Candidate("QuantBridge INT8 (uint8 weights)", exact.files().int8Onnx(), exact.fakeQuant()),
                new Candidate("QuantBridge INT8 (int8 weights)", exact.signedOnnx(), exact.fakeQuant()),
                new Candidate("QuantBridge INT8 (reduce_range, int8 weights)", reduced.signedOnnx(), reduced.fakeQuant()),
                new Candidate("ORT quantize_static", ortInt8, null));
        List<Row> rows = new ArrayList<>();
        List<OrtSessionRunner> sessions = new ArrayList<>();
        try {
            for (Candidate c : candidates) {
                sessions.add(new OrtSessionRunner(read(c.file()), options.threads()));
            }
            FloatTensor floatOut = sessions.get(0).run(x, shape);
            List<OrtSessionRunner.Comparison> comparisons = new ArrayList<>();
            List<Integer> kernels = new ArrayList<>();
            for (int i = 0; i < candidates.size(); i++) {
                // ours against the fake-quant model (the computation it deploys); ORT's against the float model
                FloatTensor got = sessions.get(i).run(x, shape);
                FloatTensor ref = candidates.get(i).reference() == null ? floatOut : candidates.get(i).reference();
                comparisons.add(OrtSessionRunner.compare(List.of(got), List.of(ref)));
                kernels.add(i == 0 ? 0 : OrtOptimized.integerKernels(OrtOptimized.opCounts(
                        OrtOptimized.optimize(OnnxModels.load(candidates.get(i).file())))));
                if (i == 1) {
                    OrtSessionRunner.Comparison vsFloat = OrtSessionRunner.compare(List.of(got), List.of(floatOut));
                    out.printf(Locale.ROOT, "%s: QuantBridge INT8 vs float ONNX: agreement %.2f%%, relative error %.4f%n",
                            name, 100 * vsFloat.agreement(), vsFloat.relativeError());
                }
            }
            long floatSize = size(exact.files().floatOnnx());
            int perImage = x.length / dims[0];
            for (int batch : new int[] {1, 32}) {
                float[] xb = Arrays.copyOf(x, perImage * batch);
                long[] sb = shape.clone();
                sb[0] = batch;
                double[] med = OrtLatency.medians(sessions, xb, sb, options.rounds());
                for (int i = 0; i < candidates.size(); i++) {
                    OrtSessionRunner.Comparison c = i == 0 ? null : comparisons.get(i);
                    rows.add(new Row(name, candidates.get(i).variant(), batch, med[i], med[i] / med[0],
                            (double) size(candidates.get(i).file()) / floatSize, c == null ? Double.NaN : c.agreement(),
                            c == null ? Double.NaN : c.relativeError(), kernels.get(i)));
                }
            }
        } finally {
            sessions.forEach(OrtSessionRunner::close);
        }
        return rows;
    }

    /** One quantized export: its files, the same parameters' INT8 ONNX with int8 weights (ONNX Runtime's u8*s8 kernels), the fake-quant model's test outputs. */
    private record Variant(TorchExport files, Path signedOnnx, FloatTensor fakeQuant) { }

    private Variant quantize(TorchQuantizer q, PyHandle model, Path dir, String name, boolean reduceRange, NDArray<?> xs)
            throws QuantBridgeException {
        QuantConfig cfg = q.generateConfig(model, "x:1,3,64,64");
        cfg.quantizeAll("Quant_INT8-8");
        cfg.setReduceRange(reduceRange);
        try (QuantModel qm = q.optimize(model, cfg)) {
            qm.calibrate("int8_models:calibration_batches", Map.of(), 0, null);
            TorchExport files = q.export(qm, dir, name, true, null);
            Path signed = dir.resolve(name + "_int8_s8.onnx");
            write(signed, QdqBuilder.build(files.floatOnnx(), files.params(), WeightType.INT8).toByteArray());
            NDArray<?> fq = (NDArray<?>) rt.call("quantbridge.torch:fake_quant_predict", qm.handle(), xs);
            return new Variant(files, signed, FloatTensor.of((float[]) fq.getData(), fq.getDimensions()));
        }
    }

    private static void write(Path p, byte[] bytes) throws QuantBridgeException {
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot write " + p + ": " + e.getMessage(), e);
        }
    }

    /** The rows as a plain-text table. */
    public static String table(List<Row> rows) {
        TextTable t = new TextTable("model", "batch", "variant", "ms (median)", "x float", "size x float",
                "agreement", "rel. error", "int kernels");
        for (Row r : rows) {
            boolean ref = r.variant().startsWith("float");
            t.row(r.model(), r.batch(), r.variant(), String.format(Locale.ROOT, "%.2f", r.millis()),
                    String.format(Locale.ROOT, "%.2f", r.ratio()), String.format(Locale.ROOT, "%.2f", r.sizeRatio()),
                    ref ? null : String.format(Locale.ROOT, "%.2f%%", 100 * r.agreement()),
                    ref ? null : String.format(Locale.ROOT, "%.4f", r.relativeError()),
                    ref ? null : r.integerKernels());
        }
        return t.format(0);
    }

    private static byte[] read(Path p) throws QuantBridgeException {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    private static long size(Path p) throws QuantBridgeException {
        try {
            return Files.size(p);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }
}
