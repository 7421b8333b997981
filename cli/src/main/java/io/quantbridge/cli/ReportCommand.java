package io.quantbridge.cli;

import io.quantbridge.project.StepResult;
import io.quantbridge.project.Workflow;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quantbridge report}: the per-layer report of a saved quant state. */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write the per-layer quantization report of a saved quant state (calibrated or trained): "
                + "report.json and a self-contained report.html with, per layer, weight and input ranges, scales, "
                + "clipping and the SQNR of its quantized output against the float output, worst layers first."})
final class ReportCommand implements Callable<Integer> {
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

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "MODULE:FUNCTION",
            description = "Your data function, returning an iterable of batches for the statistics.")
    String data;

    @Mixin
    DataArgOption dataArgs;

    @Option(names = {"-n", "--batches"}, paramLabel = "N", defaultValue = "0",
            description = "At most N batches (default: all).")
    int batches;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", defaultValue = ".",
            description = "An existing directory for report.json and report.html (default: the current directory).")
    Path out;

    @Option(names = "--force", description = "Replace existing report files.")
    boolean force;

    @Option(names = "--eval", paramLabel = "MODULE:FUNCTION",
            description = "Your evaluation function, returning an accuracy: printed and put in the report.")
    String eval;

    @Mixin
    VendorNamesOption vendorNames;

    @Override
    public Integer call() throws Exception {
        QuantConfigOption.Loaded c = config.load(project);
        Workflow.Report request = ReportOptions.request(out, data, dataArgs, batches);
        StepResult r = CliRun.run(spec, trustPickle.apply(c.project()), vendorNames, List.of(out),
                (wf, rt) -> wf.report(c.config(), from.path, request, force, eval));
        return CliRun.done(spec, r, eval, String.format("report of %d layers, %d quantized", r.layers(),
                r.quantizedLayers()));
    }
}
