package io.quantbridge.demo;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchExport;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jep.NDArray;

import static io.quantbridge.demo.DemoSupport.labels;
import static io.quantbridge.demo.DemoSupport.mkdirs;
import static io.quantbridge.demo.DemoSupport.onnxRows;
import static io.quantbridge.demo.DemoSupport.secs;

/**
 * The PyTorch half of the demo: train the float CNN briefly, calibrate (PTQ), retrain (QAT),
 * export, and run the INT8 QDQ ONNX in ONNX Runtime from Java.
 */
public final class TorchDigitsDemo {
    static final String EXAMPLE = "quantbridge.examples.digits_torch";
    private final PythonRuntime rt;
    private final ProgressListener progress;
    private final DemoOptions options;

    /** Creates the demo over an open runtime. */
    public TorchDigitsDemo(PythonRuntime rt, DemoOptions options, ProgressListener progress) {
        this.rt = rt;
        this.options = options;
        this.progress = progress == null ? ProgressListener.NONE : progress;
    }

    /** Runs every stage; files land in {@code options.outDir()/torch}. */
    public DemoResult run() throws QuantBridgeException {
        List<DemoRow> rows = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Path out = options.outDir().resolve("torch");
        mkdirs(out);
        TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of(EXAMPLE + ":build_model"));
        long t0 = System.nanoTime();
        try (PyHandle model = q.newFloatModel()) {
            rt.call(EXAMPLE + ":train_float", List.of(model), Map.of("epochs", options.floatEpochs()), progress);
            double floatAcc = accuracy(model);
            rows.add(new DemoRow("PyTorch", "float (trained " + options.floatEpochs() + " epochs)", floatAcc, null, -1, secs(t0)));

            QuantConfig cfg = q.generateConfig(model, "x:1,1,8,8");
            cfg.quantizeAll("Quant_INT8-8");
            cfg.setCalibration(options.calibration(), cfg.calibration().percentile(), cfg.calibration().bins());
            cfg.write(out.resolve("config_gen.json"));

            long t1 = System.nanoTime();
            try (PyHandle ptqBase = (PyHandle) rt.call("quantbridge._java_support:deepcopy", model);
                 QuantModel ptq = q.optimize(ptqBase, cfg)) {
                long batches = ptq.calibrate(EXAMPLE + ":calibration_batches", Map.of(), 0, progress);
                double ptqAcc = accuracy(ptq.handle());
                rows.add(new DemoRow("PyTorch", "PTQ (" + options.calibration() + ", " + batches + " batches)", ptqAcc,
                        null, -1, secs(t1)));

                long t2 = System.nanoTime();
                try (QuantModel qat = ptq.copy()) {
                    qat.train(EXAMPLE + ":train", Map.of("epochs", options.qatEpochs()), progress);
                    qat.saveState(out.resolve("quant.pth"));
                    double qatAcc = accuracy(qat.handle());
                    rows.add(new DemoRow("PyTorch", "QAT (" + options.qatEpochs() + " epochs from PTQ)", qatAcc, null, -1, secs(t2)));

                    long t3 = System.nanoTime();
                    TorchExport files = q.export(qat, out, "digits_cnn", true, progress);
                    double exportSecs = secs(t3);

                    @SuppressWarnings("unchecked")
                    NDArray<float[]> x = (NDArray<float[]>) rt.call(EXAMPLE + ":test_inputs");
                    long[] labels = labels((NDArray<?>) rt.call(EXAMPLE + ":test_labels"));
                    rows.addAll(onnxRows("PyTorch", out, files.floatOnnx(), files.int8Onnx(), x, labels, exportSecs));
                    double agree = 100.0 * q.verify(qat, files, x).agreement();
                    notes.add(String.format(Locale.ROOT, "PyTorch: INT8 ONNX agrees with the fake-quant model on %.2f%% of %d test images; "
                            + "parameter file %s", agree, labels.length, files.paramFile()));
                }
            }
        }
        return new DemoResult(rows, notes);
    }

    private double accuracy(PyHandle model) throws QuantBridgeException {
        return ((Number) rt.call(EXAMPLE + ":evaluate", model)).doubleValue();
    }

}
