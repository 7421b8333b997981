package io.quantbridge.project;

import io.quantbridge.runtime.Targets;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OrtSessionRunner;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.tf.TfExport;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.tf.TfSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The TensorFlow steps: the user's graph builder builds the float graph in each new session; the
 * seed's {@code quant_flag} / {@code is_train_flag} placeholders are added by the rewrite and
 * their names put in {@code info} for the user's functions.
 */
final class TfWorkflow implements Workflow {
    private static final String CLI = "quantbridge._cli_support:";
    private final PythonRuntime rt;
    private final ProjectSpec spec;
    private final ProgressListener progress;
    private TfQuantizer quantizer;

    TfWorkflow(PythonRuntime rt, ProjectSpec spec, ProgressListener progress) {
        this.rt = rt;
        this.spec = spec;
        this.progress = progress;
    }

    @Override
    public QuantConfig generateConfig(String inputShape) throws QuantBridgeException {
        if (inputShape != null) {
            throw new IllegalArgumentException("--input-shape is for PyTorch models; a TensorFlow config has no "
                    + "input_shape (the graph's placeholders define it): drop the option");
        }
        return quantizer().generateConfig();
    }

    @Override
    public StepResult calibrate(QuantConfig config, Calibrate r) throws QuantBridgeException {
        config.validate();
        ProjectFiles.checkCheckpointOutput(r.out(), r.force(), "--out");
        if (r.floatWeights() == null) {
            throw new IllegalArgumentException("TensorFlow calibration needs the float weights: pass --checkpoint "
                    + "PREFIX (the float model's checkpoint, e.g. float.ckpt)");
        }
        Path floatCkpt = ProjectFiles.checkpointPrefix(r.floatWeights(), "--checkpoint");
        Targets.check(rt, r.dataFunction(), "--data");
        checkEval(r.evalFunction());
        Reports.check(rt, r.report(), r.force());
        try (TfSession s = quantizer().optimize(config, floatCkpt)) {
            Double floatAcc = evaluate(s, r.evalFunction(), false);
            Map<String, Object> kwargs = Map.of("target", r.dataFunction(), "kwargs", r.dataArgs(), "limit", r.batches());
            long n = s.calibrate(CLI + "limited_batches", kwargs, r.batches(), progress);
            Double quantAcc = evaluate(s, r.evalFunction(), true);
            List<Path> files = new ArrayList<>(List.of(s.save(r.out(), r.force())));
            files.addAll(report(s, config, r.report(), r.force(), "calibrated", floatAcc, quantAcc));
            return new StepResult(files, n, null, floatAcc, quantAcc, Workflow.quantizedLayers(config),
                    config.layers().size());
        }
    }

    @Override
    public StepResult train(QuantConfig config, Train r) throws QuantBridgeException {
        config.validate();
        ProjectFiles.checkCheckpointOutput(r.out(), r.force(), "--out");
        Path from = r.from() == null ? null : ProjectFiles.checkpointPrefix(r.from(), "--from");
        Path floatCkpt = null;
        if (from == null) {
            if (r.floatWeights() == null) {
                throw new IllegalArgumentException("TensorFlow retraining starts from weights: pass --from PREFIX (a "
                        + "calibrated checkpoint) or --checkpoint PREFIX (the float checkpoint)");
            }
            floatCkpt = ProjectFiles.checkpointPrefix(r.floatWeights(), "--checkpoint");
        }
        Targets.check(rt, r.trainFunction(), "--train");
        checkEval(r.evalFunction());
        Reports.check(rt, r.report(), r.force());
        try (TfSession s = quantizer().optimize(config, floatCkpt)) {
            if (from != null) {
                s.restore(from);
            }
            Map<String, Object> kwargs = new LinkedHashMap<>();
            kwargs.put("quant_flag", 1);
            kwargs.put("is_train_flag", true);
            kwargs.putAll(r.trainArgs());
            Object returned = s.call(r.trainFunction(), kwargs, "train", progress);
            Double quantAcc = evaluate(s, r.evalFunction(), true);
            List<Path> files = new ArrayList<>(List.of(s.save(r.out(), r.force())));
            files.addAll(report(s, config, r.report(), r.force(), "trained", null, quantAcc));
            return new StepResult(files, -1, returned, null, quantAcc, Workflow.quantizedLayers(config),
                    config.layers().size());
        }
    }

    @Override
    public StepResult export(QuantConfig config, Export r) throws QuantBridgeException {
        config.validate();
        ProjectFiles.checkOutputs(r.outDir(), List.of(r.name() + ".pb", r.name() + ".onnx", r.name() + "_int8.onnx",
                r.name() + "_quant_param.json"), r.force(), "--out");
        Path from = ProjectFiles.checkpointPrefix(r.from(), "--from");
        checkEval(r.evalFunction());
        Reports.check(rt, r.report(), r.force());
        if (r.check() != null) {
            Targets.check(rt, r.check().dataFunction(), "--data");
        }
        TfQuantizer q = quantizer();
        try (TfSession s = q.optimize(config, null)) {
            s.restore(from);
            Double quantAcc = evaluate(s, r.evalFunction(), true);
            List<?> checkBatches = r.check() == null ? null : checkBatches(q, r.check());
            TfExport exported = q.export(s, r.outDir(), r.name(), r.force(), progress);
            List<Path> files = new ArrayList<>(List.of(exported.frozenPb(), exported.floatOnnx(), exported.int8Onnx(),
                    exported.paramFile()));
            files.addAll(report(s, config, r.report(), r.force(), "exported", null, quantAcc));
            List<DeployedCheck> deployed = r.check() == null ? List.of() : checkDeployed(q, s, exported, checkBatches);
            return new StepResult(files, -1, null, null, quantAcc, Workflow.quantizedLayers(config), config.layers().size(),
                    deployed);
        }
    }

    @Override
    public StepResult report(QuantConfig config, Path from, Report report, boolean force, String evalFunction)
            throws QuantBridgeException {
        config.validate();
        Path prefix = ProjectFiles.checkpointPrefix(from, "--from");
        checkEval(evalFunction);
        Reports.check(rt, report, force);
        try (TfSession s = quantizer().optimize(config, null)) {
            s.restore(prefix);
            Double quantAcc = evaluate(s, evalFunction, true);
            List<Path> files = report(s, config, report, force, "quantized", null, quantAcc);
            return new StepResult(files, -1, null, null, quantAcc, Workflow.quantizedLayers(config), config.layers().size());
        }
    }

    private List<Path> report(TfSession s, QuantConfig config, Report report, boolean force, String stage,
                              Double floatAcc, Double quantAcc) throws QuantBridgeException {
        if (report == null) {
            return List.of();
        }
        Object stats;
        try (PyHandle batches = Reports.batches(rt, report.dataFunction(), report.dataArgs(), report.batches(), progress);
             PyHandle sess = (PyHandle) rt.getAttr(s.handle(), "sess")) {
            stats = rt.call("quantbridge.analysis:tf_layer_stats", List.of(sess, batches, quantizer.project().input()),
                    Map.of(), progress);
        }
        return Reports.write(report, force, Framework.TENSORFLOW, config, stage, stats, floatAcc, quantAcc);
    }

    /**
     * The INT8 ONNX in ONNX Runtime (Java), then the frozen .pb in a fresh graph, each against the
     * quantized session, on the user's batches.
     */
    private List<DeployedCheck> checkDeployed(TfQuantizer q, TfSession s, TfExport exported, List<?> batches)
            throws QuantBridgeException {
        try (OrtSessionRunner ort = new OrtSessionRunner(exported.int8Onnx())) {
            return DeployedCheck.runAll(batches, List.of(
                new DeployedCheck.Deployed(exported.int8Onnx(), "ONNX Runtime, Java", xs -> new FloatTensor[] {
                    DeployedCheck.ort(ort, xs), q.sessionOutput(s, xs.get(0))}),
                new DeployedCheck.Deployed(exported.frozenPb(), "frozen graph, TensorFlow", xs -> new FloatTensor[] {
                    DeployedCheck.tensor(q.runFrozen(exported.frozenPb(), xs.get(0))), q.sessionOutput(s, xs.get(0))})));
        }
    }

    /**
     * The batches of {@code export -d}, read and checked before anything is written: one array per
     * batch for the model's one input (the graph's other placeholders take their defaults).
     */
    private List<?> checkBatches(TfQuantizer q, Report check) throws QuantBridgeException {
        try (PyHandle batches = Reports.batches(rt, check.dataFunction(), check.dataArgs(), check.batches(), progress)) {
            return DeployedCheck.read(rt, batches, List.of(q.project().input().replaceFirst(":0$", "")),
                    check.dataFunction());
        }
    }

    /** The quantizer, with the input and output names from the options or the builder's dict. */
    private TfQuantizer quantizer() throws QuantBridgeException {
        if (quantizer == null) {
            quantizer = Quantizers.tensorflow(rt, spec);
        }
        return quantizer;
    }

    private void checkEval(String evalFunction) throws QuantBridgeException {
        if (evalFunction != null) {
            Targets.check(rt, evalFunction, "--eval");
        }
    }

    private Double evaluate(TfSession s, String evalFunction, boolean quantized) throws QuantBridgeException {
        if (evalFunction == null) {
            return null;
        }
        Object v = s.call(evalFunction, Map.of("quant_flag", quantized ? 1 : 0, "is_train_flag", false), "evaluate",
                progress);
        return Accuracy.of(v, evalFunction);
    }
}
