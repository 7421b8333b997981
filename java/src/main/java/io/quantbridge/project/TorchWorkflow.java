package io.quantbridge.project;

import io.quantbridge.runtime.Targets;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OrtSessionRunner;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.InputShape;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.dist.Ranks;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchExport;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The PyTorch steps: the user's factory gives fresh float models, their functions do the rest. */
final class TorchWorkflow implements Workflow {
    private static final String CLI = "quantbridge._cli_support:";
    private final PythonRuntime rt;
    private final ProgressListener progress;
    private final TorchQuantizer quantizer;
    private final boolean trustPickle;
    private final String factory;

    TorchWorkflow(PythonRuntime rt, ProjectSpec spec, ProgressListener progress) throws QuantBridgeException {
        this.rt = rt;
        this.progress = progress;
        this.quantizer = new TorchQuantizer(rt, spec.torchProject());
        this.trustPickle = spec.trustPickle();
        this.factory = spec.model();
    }

    @Override
    public QuantConfig generateConfig(String inputShape) throws QuantBridgeException {
        if (inputShape == null) {
            throw new IllegalArgumentException("PyTorch needs the deployed input shape: pass --input-shape, "
                    + "e.g. --input-shape x:1,3,224,224");
        }
        InputShape.parse(inputShape);
        try (PyHandle model = quantizer.newFloatModel()) {
            return quantizer.generateConfig(model, inputShape);
        }
    }

    @Override
    public StepResult calibrate(QuantConfig config, Calibrate r) throws QuantBridgeException {
        config.validate();
        ProjectFiles.checkOutput(r.out(), r.force(), "--out");
        if (r.floatWeights() != null) {
            ProjectFiles.requireFile(r.floatWeights(), "--weights");
        }
        Targets.check(rt, r.dataFunction(), "--data");
        checkEval(r.evalFunction());
        Reports.check(rt, r.report(), r.force());
        try (PyHandle model = quantizer.newFloatModel()) {
            TorchQuantizer.Resolved fit = quantizer.resolve(model, config);
            loadFloat(model, r.floatWeights());
            Double floatAcc = evaluate(model, r.evalFunction());
            try (QuantModel qm = quantizer.optimize(model, fit)) {
                long n;
                try (PyHandle batches = Reports.batches(rt, r.dataFunction(), r.dataArgs(), r.batches(), progress)) {
                    n = qm.calibrate(batches, r.batches(), progress);
                }
                Double quantAcc = evaluate(qm.handle(), r.evalFunction());
                List<Path> files = new ArrayList<>();
                Ranks.barrier(rt);           // several ranks: every one finished before rank 0 writes
                if (Ranks.writes()) {
                    qm.saveState(r.out(), r.force());
                    files.add(r.out());
                    files.addAll(report(qm, config, r.report(), r.force(), "calibrated", floatAcc, quantAcc));
                }
                return new StepResult(files, n, null, floatAcc, quantAcc, Workflow.quantizedLayers(config),
                        config.layers().size());
            }
        }
    }

    @Override
    public StepResult train(QuantConfig config, Train r) throws QuantBridgeException {
        config.validate();
        ProjectFiles.checkOutput(r.out(), r.force(), "--out");
        if (r.from() != null) {
            ProjectFiles.requireFile(r.from(), "--from");
        } else if (r.floatWeights() != null) {
            ProjectFiles.requireFile(r.floatWeights(), "--weights");
        }
        Targets.check(rt, r.trainFunction(), "--train");
        checkEval(r.evalFunction());
        Reports.check(rt, r.report(), r.force());
        try (PyHandle model = quantizer.newFloatModel()) {
            TorchQuantizer.Resolved fit = quantizer.resolve(model, config);
            if (r.from() == null) {
                loadFloat(model, r.floatWeights());
            }
            try (QuantModel qm = quantizer.optimize(model, fit)) {
                if (r.from() != null) {
                    loadState(qm, r.from());
                }
                Object returned = qm.train(r.trainFunction(), r.trainArgs(), progress);
                Double quantAcc = evaluate(qm.handle(), r.evalFunction());
                List<Path> files = new ArrayList<>();
                Ranks.barrier(rt);
                if (Ranks.writes()) {
                    qm.saveState(r.out(), r.force());
                    files.add(r.out());
                    files.addAll(report(qm, config, r.report(), r.force(), "trained", null, quantAcc));
                }
                return new StepResult(files, -1, returned, null, quantAcc, Workflow.quantizedLayers(config),
                        config.layers().size());
            }
        }
    }

    @Override
    public StepResult export(QuantConfig config, Export r) throws QuantBridgeException {
        config.validate();
        String name = r.name();
        ProjectFiles.checkOutputs(r.outDir(), List.of(name + ".onnx", name + "_int8.onnx", name + "_quant_param.json"),
                r.force(), "--out");
        ProjectFiles.requireFile(r.from(), "--from");
        checkEval(r.evalFunction());
        Reports.check(rt, r.report(), r.force());
        if (r.check() != null) {
            Targets.check(rt, r.check().dataFunction(), "--data");
        }
        try (QuantModel qm = load(config, r.from())) {
            Double quantAcc = evaluate(qm.handle(), r.evalFunction());
            List<?> checkBatches = r.check() == null ? null : checkBatches(config, r.check());
            TorchExport exported = quantizer.export(qm, r.outDir(), name, r.force(), progress);
            List<Path> files = new ArrayList<>(List.of(exported.floatOnnx(), exported.int8Onnx(), exported.paramFile()));
            files.addAll(report(qm, config, r.report(), r.force(), "exported", null, quantAcc));
            List<DeployedCheck> deployed = r.check() == null ? List.of()
                    : List.of(checkDeployed(qm, exported, checkBatches));
            return new StepResult(files, -1, null, null, quantAcc, Workflow.quantizedLayers(config), config.layers().size(),
                    deployed);
        }
    }

    @Override
    public StepResult report(QuantConfig config, Path from, Report report, boolean force, String evalFunction)
            throws QuantBridgeException {
        config.validate();
        ProjectFiles.requireFile(from, "--from");
        checkEval(evalFunction);
        Reports.check(rt, report, force);
        try (QuantModel qm = load(config, from)) {
            Double quantAcc = evaluate(qm.handle(), evalFunction);
            List<Path> files = report(qm, config, report, force, "quantized", null, quantAcc);
            return new StepResult(files, -1, null, null, quantAcc, Workflow.quantizedLayers(config), config.layers().size());
        }
    }

    /** A fresh model from the factory, quantized as {@code config} says, with the saved state loaded. */
    private QuantModel load(QuantConfig config, Path state) throws QuantBridgeException {
        try (PyHandle model = quantizer.newFloatModel()) {
            QuantModel qm = quantizer.optimize(model, config);
            try {
                loadState(qm, state);
                return qm;
            } catch (QuantBridgeException | RuntimeException e) {
                qm.close();
                throw e;
            }
        }
    }

    private List<Path> report(QuantModel qm, QuantConfig config, Report report, boolean force, String stage,
                              Double floatAcc, Double quantAcc) throws QuantBridgeException {
        if (report == null) {
            return List.of();
        }
        Object stats;
        try (PyHandle batches = Reports.batches(rt, report.dataFunction(), report.dataArgs(), report.batches(),
                progress)) {
            stats = rt.call("quantbridge.analysis:torch_layer_stats", List.of(qm.handle(), batches), Map.of(), progress);
        }
        return Reports.write(report, force, Framework.TORCH, config, stage, stats, floatAcc, quantAcc);
    }

    /**
     * The batches of {@code export -d}, read and checked (one array per input of the config's
     * {@code input_shape}) before anything is written.
     */
    private List<?> checkBatches(QuantConfig config, Report check) throws QuantBridgeException {
        List<String> inputs = config.inputShape().map(s -> s.inputs().stream().map(InputShape.Input::name).toList())
                .orElse(null);
        try (PyHandle batches = Reports.batches(rt, check.dataFunction(), check.dataArgs(), check.batches(), progress)) {
            return DeployedCheck.read(rt, batches, inputs, check.dataFunction());
        }
    }

    /** The INT8 ONNX in ONNX Runtime (Java) against the fake-quant model, on the user's batches. */
    private DeployedCheck checkDeployed(QuantModel qm, TorchExport exported, List<?> batches) throws QuantBridgeException {
        try (OrtSessionRunner ort = new OrtSessionRunner(exported.int8Onnx())) {
            return DeployedCheck.run(batches, exported.int8Onnx(), "ONNX Runtime, Java", xs -> new FloatTensor[] {
                DeployedCheck.ort(ort, xs),
                DeployedCheck.tensor(rt.call("quantbridge.torch:fake_quant_predict", qm.handle(), xs))});
        }
    }

    /** Loads the float weights (if given) and refuses a model holding NaN/Inf (the factory's own weights too). */
    private void loadFloat(PyHandle model, Path weights) throws QuantBridgeException {
        if (weights != null) {
            rt.call(CLI + "load_float_weights", List.of(model, weights.toString()), Map.of("trust_pickle", trustPickle),
                    null);
        }
        rt.call(CLI + "check_float_model", model, model());
    }

    private void loadState(QuantModel qm, Path state) throws QuantBridgeException {
        rt.call(CLI + "load_quant_state", List.of(qm.handle(), state.toString()), Map.of("trust_pickle", trustPickle),
                null);
    }

    private String model() {
        return "model factory " + factory;
    }

    private void checkEval(String evalFunction) throws QuantBridgeException {
        if (evalFunction != null) {
            Targets.check(rt, evalFunction, "--eval");
        }
    }

    private Double evaluate(PyHandle model, String evalFunction) throws QuantBridgeException {
        if (evalFunction == null) {
            return null;
        }
        Object v = rt.call("quantbridge._java_support:call_user", List.of(evalFunction, List.of(model), Map.of(), "evaluate"),
                Map.of(), progress);
        return Accuracy.of(v, evalFunction);
    }
}
