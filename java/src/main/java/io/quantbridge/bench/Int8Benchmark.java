package io.quantbridge.bench;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtLatency;
import io.quantbridge.onnx.OrtOptimized;
import io.quantbridge.onnx.OrtSessionRunner;
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
 * The INT8 benchmark: for each model, QuantBridge's INT8 ONNX and ONNX Runtime's own
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
        List<Row> rows = new ArrayList<>();
        for (String model : options.models()) {
            rows.addAll(runModel(model));
        }
        return rows;
    }

    private List<Row> runModel(String name) throws QuantBridgeException {
        Path dir = options.outDir().resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of("int8_models:" + name, options.benchDir()));
        out.println(name + ": training " + options.trainEpochs() + " epoch(s) on digits 3x64x64, calibrating, exporting");
        TorchExport files;
        Path ortInt8 = dir.resolve(name + "_ort_int8.onnx");
        float[] x;
        int[] dims;
        FloatTensor fakeQuant;
        try (PyHandle model = q.newFloatModel()) {
            Object acc = rt.call("int8_models:train", List.of(model), Map.of("epochs", options.trainEpochs()), null);
            out.printf(Locale.ROOT, "%s: float test accuracy %.1f%%%n", name, ((Number) acc).doubleValue());
            QuantConfig cfg = q.generateConfig(model, "x:1,3,64,64");
            cfg.quantizeAll("Quant_INT8-8");      // the default config: integer-kernel points on
            try (QuantModel qm = q.optimize(model, cfg)) {
                qm.calibrate("int8_models:calibration_batches", Map.of(), 0, null);
                files = q.export(qm, dir, name, true, null);
                NDArray<?> xs = (NDArray<?>) rt.call("int8_models:test_inputs");
                x = (float[]) xs.getData();
                dims = xs.getDimensions();
                NDArray<?> fq = (NDArray<?>) rt.call("quantbridge.torch:fake_quant_predict", qm.handle(), xs);
                fakeQuant = FloatTensor.of((float[]) fq.getData(), fq.getDimensions());
            }
        }
        rt.call("int8_models:ort_quantize", files.floatOnnx().toString(), ortInt8.toString());
        long[] shape = Arrays.stream(dims).asLongStream().toArray();
        List<Row> rows = new ArrayList<>();
        List<Path> models = List.of(files.floatOnnx(), files.int8Onnx(), ortInt8);
        List<String> variants = List.of("float ONNX", "QuantBridge INT8", "ORT quantize_static");
        List<OrtSessionRunner> sessions = new ArrayList<>();
        try {
            for (Path p : models) {
                sessions.add(new OrtSessionRunner(read(p), options.threads()));
            }
            FloatTensor floatOut = sessions.get(0).run(x, shape);
            FloatTensor oursOut = sessions.get(1).run(x, shape);
            FloatTensor ortOut = sessions.get(2).run(x, shape);
            // ours against the fake-quant model (the computation it deploys); ORT's against the float model
            OrtSessionRunner.Comparison ours = OrtSessionRunner.compare(List.of(oursOut), List.of(fakeQuant));
            OrtSessionRunner.Comparison ort = OrtSessionRunner.compare(List.of(ortOut), List.of(floatOut));
            OrtSessionRunner.Comparison oursFloat = OrtSessionRunner.compare(List.of(oursOut), List.of(floatOut));
            out.printf(Locale.ROOT, "%s: QuantBridge INT8 vs float ONNX: agreement %.2f%%, relative error %.4f%n",
                    name, 100 * oursFloat.agreement(), oursFloat.relativeError());
            int oursKernels = OrtOptimized.integerKernels(OrtOptimized.opCounts(OrtOptimized.optimize(OnnxModels.load(files.int8Onnx()))));
            int ortKernels = OrtOptimized.integerKernels(OrtOptimized.opCounts(OrtOptimized.optimize(OnnxModels.load(ortInt8))));
            long floatSize = size(files.floatOnnx());
            int perImage = x.length / dims[0];
            for (int batch : new int[] {1, 32}) {
                float[] xb = Arrays.copyOf(x, perImage * batch);
                long[] sb = shape.clone();
                sb[0] = batch;
                double[] med = OrtLatency.medians(sessions, xb, sb, options.rounds());
                rows.add(new Row(name, variants.get(0), batch, med[0], 1.0, 1.0, Double.NaN, Double.NaN, 0));
                rows.add(new Row(name, variants.get(1), batch, med[1], med[1] / med[0],
                        (double) size(files.int8Onnx()) / floatSize, ours.agreement(), ours.relativeError(), oursKernels));
                rows.add(new Row(name, variants.get(2), batch, med[2], med[2] / med[0],
                        (double) size(ortInt8) / floatSize, ort.agreement(), ort.relativeError(), ortKernels));
            }
        } finally {
            sessions.forEach(OrtSessionRunner::close);
        }
        return rows;
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
