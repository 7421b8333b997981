package io.quantbridge.cli;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.LayerEntry;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.project.ProjectFiles;
import io.quantbridge.project.ProjectSpec;
import io.quantbridge.project.Quantizers;
import io.quantbridge.project.StepResult;
import io.quantbridge.runtime.Targets;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.sensitivity.SensitivityAnalyzer;
import io.quantbridge.sensitivity.SensitivityResult;
import io.quantbridge.sensitivity.Target;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchQuantizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quantbridge sensitivity}: automatic mixed precision. Measures each quantized layer of
 * the config and writes a config that keeps the fewest layers in float for the target. Options,
 * the user's functions and the errors are those of the project commands ({@code calibrate} & co.).
 */
@Command(name = "sensitivity", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Automatic mixed precision: calibrate the model as the config says, measure each quantized "
                + "layer's effect (output SQNR against the float model, and your evaluation function's accuracy "
                + "when given), and write a config that keeps the fewest layers in float to meet the target "
                + "(--max-drop or --min-sqnr). The config's quantized layers are the candidates.",
                "Exit 0 when the target is met (the config is written), 1 when even every candidate in float "
                        + "misses it (nothing is written); errors exit 2, 3 or 4 as for the other commands."})
public final class SensitivityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "The starting config; its quantized layers are the candidates.")
    Path config;

    @Mixin
    ProjectOptions project;

    @Mixin
    TrustPickleOption trustPickle;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "MODULE:FUNCTION",
            description = "Your data function: returns an iterable of batches (tensors or arrays, or (inputs, "
                    + "targets)), used for calibration and the SQNR.")
    String data;

    @Mixin
    DataArgOption dataArgs;

    @Option(names = {"-n", "--batches"}, paramLabel = "N", defaultValue = "0",
            description = "Calibrate and measure on at most N batches (default: all).")
    int batches;

    @Mixin
    FloatWeightsOptions floatWeightOptions;

    @Option(names = "--eval", paramLabel = "MODULE:FUNCTION",
            description = "Your evaluation function, returning an accuracy: measured for every configuration; "
                    + "needed by --max-drop.")
    String eval;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TargetOption target;

    /** Exactly one of the two targets. */
    static final class TargetOption {
        @Option(names = "--max-drop", paramLabel = "POINTS",
                description = "At most this many points of the --eval accuracy below float.")
        Double maxDrop;

        @Option(names = "--min-sqnr", paramLabel = "DB",
                description = "An output SQNR against the float model of at least this many dB.")
        Double minSqnr;

        Target toTarget() {
            return maxDrop != null ? Target.maxDrop(maxDrop) : Target.minSqnrDb(minSqnr);
        }
    }

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", defaultValue = "config_mixed.json",
            description = "The mixed-precision config to write (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--force", description = "Replace an existing file.")
    boolean force;

    @Mixin
    VendorNamesOption vendorNames;

    /** Creates the command (Main registers it; tests build it directly). */
    public SensitivityCommand() {
    }

    @Override
    public Integer call() throws Exception {
        DataArgOption.checkBatches(batches);
        Target goal = target.toTarget();
        if (goal.needsEval() && eval == null) {
            throw new IllegalArgumentException("--max-drop compares your evaluation function's accuracy: pass --eval "
                    + "MODULE:FUNCTION, or use --min-sqnr DB");
        }
        QuantConfig start = QuantConfig.read(config);
        start.validate();
        Framework fw = ProjectSpec.resolveFramework(project.asked(), start);
        ProjectSpec projectSpec = trustPickle.apply(project.spec(fw));
        Map<String, Object> dataKwargs = dataArgs.parse();
        Targets.checkForm(data, "--data");
        if (eval != null) {
            Targets.checkForm(eval, "--eval");
        }
        ProjectFiles.checkOutput(out, force, "--out");
        Path floatWeights = floatWeightOptions.resolve(fw);
        if (fw == Framework.TORCH && floatWeights != null) {
            ProjectFiles.requireFile(floatWeights, "--weights");
        } else if (fw == Framework.TENSORFLOW) {
            if (floatWeights == null) {
                throw new IllegalArgumentException("TensorFlow sensitivity needs the float weights: pass --checkpoint "
                        + "PREFIX (the float model's checkpoint, e.g. float.ckpt)");
            }
            floatWeights = ProjectFiles.checkpointPrefix(floatWeights, "--checkpoint");
        }

        PrintWriter stdout = spec.commandLine().getOut();
        SensitivityResult result;
        try (PythonRuntime rt = PythonRuntime.open(); ConsoleProgress progress = new ConsoleProgress(stdout)) {
            Interrupts.reinstall();
            vendorNames.check(rt, List.of(out));
            Quantizers.open(rt, projectSpec);
            Targets.check(rt, data, "--data");
            if (eval != null) {
                Targets.check(rt, eval, "--eval");
            }
            result = fw == Framework.TORCH ? torch(rt, projectSpec, start, floatWeights, dataKwargs, goal, progress)
                    : tensorflow(rt, projectSpec, start, floatWeights, dataKwargs, goal, progress);
        }
        stdout.print(result.table());
        if (!result.targetMet()) {
            stdout.flush();
            PrintWriter err = spec.commandLine().getErr();
            err.println("error: target " + result.target() + " not met: " + result.note() + "; no config written "
                    + "(relax the target, or check the data and evaluation functions)");
            err.flush();
            return 1;
        }
        result.config().write(out, force);
        stdout.println("float layers: " + result.floatLayers() + " (" + result.floatLayers().size() + " of "
                + result.layers().size() + ")");
        int quantized = (int) result.config().layers().stream().filter(LayerEntry::isQuantized).count();
        CliRun.print(spec, new StepResult(List.of(out), result.batches(), null, result.floatBaseline().eval(),
                result.chosen().eval(), quantized, result.config().layers().size()), eval);
        return 0;
    }

    private SensitivityResult torch(PythonRuntime rt, ProjectSpec projectSpec, QuantConfig start, Path floatWeights,
                                    Map<String, Object> dataKwargs, Target goal, ConsoleProgress progress)
            throws QuantBridgeException {
        TorchQuantizer q = Quantizers.torch(rt, projectSpec);
        try (PyHandle floatModel = q.newFloatModel()) {
            TorchQuantizer.Resolved fit = q.resolve(floatModel, start);
            if (floatWeights != null) {
                rt.call("quantbridge._cli_support:load_float_weights", List.of(floatModel, floatWeights.toString()),
                        Map.of("trust_pickle", projectSpec.trustPickle()), null);
            }
            rt.call("quantbridge._cli_support:check_float_model", floatModel, projectSpec.model());
            try (QuantModel qm = q.optimize(floatModel, fit)) {
                try (PyHandle calibration = (PyHandle) rt.call("quantbridge._cli_support:limited_batches", List.of(),
                        Map.of("target", data, "kwargs", dataKwargs, "limit", batches), progress)) {
                    qm.calibrate(calibration, batches, progress);
                }
                return SensitivityAnalyzer.forTorch(q, qm, data, dataKwargs, eval, goal, batches, progress);
            }
        }
    }

    private SensitivityResult tensorflow(PythonRuntime rt, ProjectSpec projectSpec, QuantConfig start,
                                         Path floatCkpt, Map<String, Object> dataKwargs, Target goal,
                                         ConsoleProgress progress) throws QuantBridgeException {
        TfQuantizer q = Quantizers.tensorflow(rt, projectSpec);
        return SensitivityAnalyzer.forTf(q, start, floatCkpt, data, dataKwargs, eval, goal, batches, 0, progress);
    }
}
