package io.quantbridge.demo;

import static io.quantbridge.demo.DemoSupport.argmax;
import static io.quantbridge.demo.DemoSupport.labels;
import static io.quantbridge.demo.DemoSupport.mkdirs;
import static io.quantbridge.demo.DemoSupport.onnxRows;
import static io.quantbridge.demo.DemoSupport.percentEqual;
import static io.quantbridge.demo.DemoSupport.secs;
import static io.quantbridge.demo.DemoSupport.size;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.tf.TfExport;
import io.quantbridge.tf.TfProject;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.tf.TfSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jep.NDArray;

/**
 * The TensorFlow half of the demo: the same CNN as a TF1 graph; float training, calibration
 * (PTQ), retraining (QAT) through the vendor's flags, export of the frozen {@code .pb}, the float ONNX
 * and the INT8 QDQ ONNX, and checks of the frozen graph and of the INT8 ONNX in ONNX Runtime (Java)
 * against the quantized session.
 */
public final class TfDigitsDemo {
    static final String EXAMPLE = "quantbridge.examples.digits_tf";
    private static final Map<String, Object> QUANT_EVAL = Map.of("quant_flag:0", 1, "is_train:0", false);
    private final PythonRuntime rt;
    private final ProgressListener progress;
    private final DemoOptions options;

    /** Creates the demo over an open runtime. */
    public TfDigitsDemo(PythonRuntime rt, DemoOptions options, ProgressListener progress) {
        this.rt = rt;
        this.options = options;
        this.progress = progress == null ? ProgressListener.NONE : progress;
    }

    /** Runs every stage; files land in {@code options.outDir()/tf}. */
    public DemoResult run() throws QuantBridgeException {
        List<DemoRow> rows = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Path out = mkdirs(options.outDir().resolve("tf"));
        TfQuantizer q = new TfQuantizer(rt, new TfProject(List.of(), EXAMPLE + ":build_graph", Map.of(),
                "input:0", List.of("logits")));

        long t0 = System.nanoTime();
        Path floatCkpt;
        try (TfSession f = q.openFloat()) {
            f.initialize();
            f.call(EXAMPLE + ":train_float", Map.of("epochs", options.floatEpochs()), "train", progress);
            double acc = evaluate(f, Map.of());
            floatCkpt = f.save(out.resolve("float.ckpt"));
            rows.add(new DemoRow("TensorFlow", "float (trained " + options.floatEpochs() + " epochs)", acc, null, -1, secs(t0)));
        }

        QuantConfig cfg = q.generateConfig();
        cfg.quantizeAll("Quant_INT8-8");
        cfg.setCalibration(options.calibration(), cfg.calibration().percentile(), cfg.calibration().bins());
        cfg.write(out.resolve("config_gen.json"), true);

        long t1 = System.nanoTime();
        Path ptqCkpt;
        try (TfSession ptq = q.optimize(cfg, floatCkpt)) {
            long batches = ptq.calibrate(EXAMPLE + ":calibration_batches", Map.of(), 0, progress);
            double acc = evaluate(ptq, QUANT_EVAL);
            ptqCkpt = ptq.save(out.resolve("ptq.ckpt"));
            rows.add(new DemoRow("TensorFlow", "PTQ (" + options.calibration() + ", " + batches + " batches)", acc, null, -1, secs(t1)));
        }

        long t2 = System.nanoTime();
        try (TfSession qat = q.optimize(cfg, null)) {
            qat.restore(ptqCkpt);
            qat.call(EXAMPLE + ":train", Map.of("quant_flag", 1, "is_train_flag", true, "epochs", options.qatEpochs()),
                    "train", progress);
            double acc = evaluate(qat, QUANT_EVAL);
            rows.add(new DemoRow("TensorFlow", "QAT (" + options.qatEpochs() + " epochs from PTQ)", acc, null, -1, secs(t2)));

            long t3 = System.nanoTime();
            TfExport files = q.export(qat, out, "digits_cnn", true, progress);
            double exportSecs = secs(t3);
            @SuppressWarnings("unchecked")
            NDArray<float[]> x = (NDArray<float[]>) rt.call(EXAMPLE + ":test_inputs");
            long[] y = labels((NDArray<?>) ((Map<?, ?>) rt.call(EXAMPLE + ":load_data")).get("y_test"));
            long t4 = System.nanoTime();
            long[] frozen = argmax((NDArray<?>) q.runFrozen(files.frozenPb(), x));
            double agree = 100.0 * q.verify(qat, files, x).agreement();
            rows.add(new DemoRow("TensorFlow", "frozen .pb (weights int8 grid, BN folded)", percentEqual(frozen, y),
                    out.relativize(files.frozenPb()).toString(), size(files.frozenPb()), secs(t4)));
            rows.addAll(onnxRows("TensorFlow", out, files.floatOnnx(), files.int8Onnx(), x, y, exportSecs));
            double onnxAgree = 100.0 * q.verifyOnnx(qat, files, x).agreement();
            notes.add(String.format(Locale.ROOT, "TensorFlow: frozen .pb agrees with the quantized session on %.2f%%, the "
                    + "INT8 ONNX (tf2onnx + the same QDQ builder) on %.2f%% of %d test images; parameter file %s", agree,
                    onnxAgree, y.length, files.paramFile()));
        }
        return new DemoResult(rows, notes);
    }

    private double evaluate(TfSession s, Map<String, Object> feed) throws QuantBridgeException {
        return ((Number) s.call(EXAMPLE + ":evaluate", Map.of("feed_extra", feed), "evaluate", null)).doubleValue();
    }
}
