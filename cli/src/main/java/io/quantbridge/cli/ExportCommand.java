package io.quantbridge.cli;

import io.quantbridge.project.StepResult;
import io.quantbridge.project.Workflow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quantbridge export}: the final model files and the parameter file. */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Export the final model from the config and a saved quant state (calibrated or trained), "
                + "all files or none:",
                "PyTorch: NAME.onnx (BatchNorm folded, weights on their int8 grid), NAME_int8.onnx (INT8 "
                        + "QuantizeLinear/DequantizeLinear) and NAME_quant_param.json.",
                "TensorFlow: NAME.pb (frozen) and NAME_quant_param.json."})
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    QuantConfigOption config;

    @Mixin
    ProjectOptions project;

    @Mixin
    TrustPickleOption trustPickle;

    @Mixin
    SavedStateOption from;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", defaultValue = ".",
            description = "An existing output directory (default: the current directory).")
    Path out;

    @Option(names = "--name", paramLabel = "NAME", defaultValue = "model",
            description = "File name stem: letters, digits, underscores (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--force", description = "Replace existing files of the same names.")
    boolean force;

    @Option(names = "--eval", paramLabel = "MODULE:FUNCTION",
            description = "Your evaluation function, returning an accuracy: printed for the quantized model being exported.")
    String eval;

    @Mixin
    ReportOptions reportOptions;

    @Mixin
    VendorNamesOption vendorNames;

    @Override
    public Integer call() throws Exception {
        if (!name.matches("[A-Za-z0-9_]+")) {
            throw new IllegalArgumentException("--name '" + name + "': use only letters, digits and underscores");
        }
        QuantConfigOption.Loaded c = config.load(project);
        // -d without --report: the batches the deployed file is checked on.
        Workflow.Report check = reportOptions.data == null ? null
                : ReportOptions.request(null, reportOptions.data, reportOptions.dataArgs, reportOptions.batches);
        Workflow.Export request = new Workflow.Export(from.path, out, name, force, eval, reportOptions.request(), check);
        List<Path> outputs = new ArrayList<>();
        for (String suffix : List.of(".onnx", "_int8.onnx", ".pb", "_quant_param.json")) {
            outputs.add(out.resolve(name + suffix));
        }
        outputs.add(reportOptions.report);
        StepResult r = CliRun.run(spec, trustPickle.apply(c.project()), vendorNames, outputs, (wf, rt) -> wf.export(c.config(), request));
        return CliRun.done(spec, r, eval, String.format("exported %d of %d layers quantized", r.quantizedLayers(),
                r.layers()));
    }
}
