package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import io.quantbridge.project.StepResult;
import io.quantbridge.project.Workflow;
import java.nio.file.Path;
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

    @Mixin
    QuantConfigOption config;

    @Mixin
    ProjectOptions project;

    @Mixin
    TrustPickleOption trustPickle;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "MODULE:FUNCTION",
            description = "Your data function: returns an iterable of batches (tensors or arrays, or (inputs, targets)).")
    String data;

    @Mixin
    DataArgOption dataArgs;

    @Option(names = {"-n", "--batches"}, paramLabel = "N", defaultValue = "0",
            description = "Calibrate on at most N batches (default: all).")
    int batches;

    @Mixin
    FloatWeightsOptions floatWeightOptions;

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

    @Mixin
    VendorNamesOption vendorNames;

    @Mixin
    DistributedOptions distributed;

    @Override
    public Integer call() throws Exception {
        DataArgOption.checkBatches(batches);
        QuantConfigOption.Loaded c = config.load(project);
        if (distributed.launches()) {
            return distributed.launch(spec, c.framework());
        }
        Path target = out != null ? out : Path.of(c.framework() == Framework.TORCH ? "quant.pth" : "quant.ckpt");
        Workflow.Calibrate request = new Workflow.Calibrate(data, dataArgs.parse(), batches,
                floatWeightOptions.resolve(c.framework()), target, force, eval,
                report == null ? null : ReportOptions.request(report, data, dataArgs, batches));
        StepResult r = CliRun.run(spec, trustPickle.apply(c.project()), vendorNames, java.util.Arrays.asList(target, report),
                (wf, rt) -> wf.calibrate(c.config(), request));
        return CliRun.done(spec, r, eval, String.format("calibrated %d of %d layers on %d batches", r.quantizedLayers(),
                r.layers(), r.batches()));
    }
}
