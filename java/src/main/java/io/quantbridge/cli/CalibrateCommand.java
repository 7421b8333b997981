package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.project.ProjectSpec;
import io.quantbridge.project.StepResult;
import io.quantbridge.project.UserArgs;
import io.quantbridge.project.Workflow;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quantbridge calibrate}: post-training calibration with the user's data. */
@Command(name = "calibrate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Calibrate (no-training quantization): quantize the model as the config says, run forward "
                + "passes over the batches of your data function, and save the calibrated state: PyTorch a .pth "
                + "(quant_model.state_dict()), TensorFlow a checkpoint prefix."})
final class CalibrateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The quantization config.")
    Path config;

    @Mixin
    ProjectOptions project;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "MODULE:FUNCTION",
            description = "Your data function: returns an iterable of batches (tensors or arrays, or (inputs, targets)).")
    String data;

    @Option(names = "--data-arg", paramLabel = "KEY=VALUE", description = "Keyword argument for the data function (repeatable).")
    Map<String, String> dataArgs = new LinkedHashMap<>();

    @Option(names = {"-n", "--batches"}, paramLabel = "N", defaultValue = "0",
            description = "Calibrate on at most N batches (default: all).")
    int batches;

    @Option(names = "--weights", paramLabel = "FILE.pth",
            description = "PyTorch: the float state_dict to load into the factory's model (optional: the factory may load its own).")
    Path weights;

    @Option(names = "--checkpoint", paramLabel = "PREFIX", description = "TensorFlow: the float checkpoint (required).")
    Path checkpoint;

    @Option(names = {"-o", "--out"}, paramLabel = "PATH",
            description = "Where to save the calibrated state (default: quant.pth for PyTorch, quant.ckpt for TensorFlow).")
    Path out;

    @Option(names = "--force", description = "Replace an existing output.")
    boolean force;

    @Option(names = "--eval", paramLabel = "MODULE:FUNCTION",
            description = "Your evaluation function, returning an accuracy: printed for the float and the calibrated model.")
    String eval;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Also write the per-layer report (report.json, report.html) of the calibrated model into "
                    + "this existing directory, over the same batches.")
    Path report;

    @Override
    public Integer call() throws Exception {
        if (batches < 0) {
            throw new IllegalArgumentException("--batches " + batches + ": expected 0 (all) or a positive count");
        }
        QuantConfig cfg = QuantConfig.read(config);
        Framework fw = ProjectSpec.resolveFramework(project.asked(), cfg);
        ProjectSpec projectSpec = project.spec(fw);
        Path target = out != null ? out : Path.of(fw == Framework.TORCH ? "quant.pth" : "quant.ckpt");
        Workflow.Calibrate request = new Workflow.Calibrate(data, UserArgs.parse(dataArgs, "--data-arg"), batches,
                CliRun.floatWeights(fw, weights, checkpoint), target, force, eval,
                report == null ? null : ReportOptions.request(report, data, dataArgs, batches));
        StepResult r = CliRun.run(spec, projectSpec, (wf, rt) -> wf.calibrate(cfg, request));
        spec.commandLine().getOut().printf("calibrated %d of %d layers on %d batches%n", r.quantizedLayers(), r.layers(),
                r.batches());
        CliRun.print(spec, r, eval);
        return 0;
    }
}
