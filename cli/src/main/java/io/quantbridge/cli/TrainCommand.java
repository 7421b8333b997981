package io.quantbridge.cli;

import io.quantbridge.config.Framework;
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

/** {@code quantbridge train}: retraining (QAT) with the user's own training function. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Retrain (quantization-aware training): quantize the model as the config says, optionally "
                + "start from a calibrated state (--from), call your training function on the quantized model and "
                + "save the result.",
                "PyTorch: fn(quant_model, **train-args). TensorFlow: fn(sess, info, quant_flag=1, is_train_flag=True, "
                        + "**train-args), info holding your builder's tensor names plus 'quant_flag' and "
                        + "'is_train_flag' (the placeholders' names). A 'progress' parameter, if present, gets a "
                        + "callable progress(step, total, **metrics)."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    QuantConfigOption config;

    @Mixin
    ProjectOptions project;

    @Mixin
    TrustPickleOption trustPickle;

    @Option(names = {"-t", "--train"}, required = true, paramLabel = "MODULE:FUNCTION", description = "Your training function.")
    String train;

    @Option(names = "--train-arg", paramLabel = "KEY=VALUE",
            description = "Keyword argument for the training function (repeatable), e.g. --train-arg epochs=2.")
    Map<String, String> trainArgs = new LinkedHashMap<>();

    @Option(names = "--from", paramLabel = "STATE",
            description = "Start from this calibrated or trained state (PyTorch .pth, TensorFlow checkpoint prefix).")
    Path from;

    @Option(names = "--weights", paramLabel = "FILE.pth",
            description = "PyTorch, without --from: the float state_dict to start from (optional).")
    Path weights;

    @Option(names = "--checkpoint", paramLabel = "PREFIX",
            description = "TensorFlow, without --from: the float checkpoint to start from.")
    Path checkpoint;

    @Option(names = {"-o", "--out"}, paramLabel = "PATH",
            description = "Where to save the trained state (default: trained.pth for PyTorch, trained.ckpt for TensorFlow).")
    Path out;

    @Option(names = "--force", description = "Replace an existing output.")
    boolean force;

    @Option(names = "--eval", paramLabel = "MODULE:FUNCTION",
            description = "Your evaluation function, returning an accuracy: printed for the trained model.")
    String eval;

    @Mixin
    ReportOptions reportOptions;

    @Mixin
    VendorNamesOption vendorNames;

    @Mixin
    DistributedOptions distributed;

    @Override
    public Integer call() throws Exception {
        QuantConfigOption.Loaded c = config.load(project);
        if (distributed.launches()) {
            return distributed.launch(spec, c.framework());
        }
        Framework fw = c.framework();
        Path floatWeights = CliRun.floatWeights(fw, weights, checkpoint);
        if (from != null && floatWeights != null) {
            throw new IllegalArgumentException("pass either --from (a calibrated state) or the float weights ("
                    + (fw == Framework.TORCH ? "--weights" : "--checkpoint") + "), not both");
        }
        Path target = out != null ? out : Path.of(fw == Framework.TORCH ? "trained.pth" : "trained.ckpt");
        Workflow.Train request = new Workflow.Train(train, UserArgs.parse(trainArgs, "--train-arg"), from, floatWeights,
                target, force, eval, reportOptions.request());
        StepResult r = CliRun.run(spec, trustPickle.apply(c.project()), vendorNames, java.util.Arrays.asList(target, reportOptions.report),
                (wf, rt) -> wf.train(c.config(), request));
        return CliRun.done(spec, r, eval, String.format("trained with %d of %d layers quantized", r.quantizedLayers(),
                r.layers()));
    }
}
