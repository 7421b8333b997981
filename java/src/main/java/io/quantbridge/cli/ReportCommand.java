package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.project.ProjectSpec;
import io.quantbridge.project.StepResult;
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

/** {@code quantbridge report}: the per-layer report of a saved quant state. */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write the per-layer quantization report of a saved quant state (calibrated or trained): "
                + "report.json and a self-contained report.html with, per layer, weight and input ranges, scales, "
                + "clipping and the SQNR of its quantized output against the float output, worst layers first."})
final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The quantization config.")
    Path config;

    @Mixin
    ProjectOptions project;

    @Option(names = "--from", required = true, paramLabel = "STATE",
            description = "The calibrated or trained state (PyTorch .pth, TensorFlow checkpoint prefix).")
    Path from;

    @Option(names = {"-d", "--data"}, required = true, paramLabel = "MODULE:FUNCTION",
            description = "Your data function, returning an iterable of batches for the statistics.")
    String data;

    @Option(names = "--data-arg", paramLabel = "KEY=VALUE", description = "Keyword argument for the data function (repeatable).")
    Map<String, String> dataArgs = new LinkedHashMap<>();

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

    @Override
    public Integer call() throws Exception {
        QuantConfig cfg = QuantConfig.read(config);
        Framework fw = ProjectSpec.resolveFramework(project.asked(), cfg);
        ProjectSpec projectSpec = project.spec(fw);
        Workflow.Report request = ReportOptions.request(out, data, dataArgs, batches);
        StepResult r = CliRun.run(spec, projectSpec, (wf, rt) -> wf.report(cfg, from, request, force, eval));
        spec.commandLine().getOut().printf("report of %d layers, %d quantized%n", r.layers(), r.quantizedLayers());
        CliRun.print(spec, r, eval);
        return 0;
    }
}
