package io.quantbridge.cli;

import io.quantbridge.config.Calibration;
import io.quantbridge.config.Framework;
import io.quantbridge.config.InputShape;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.project.ProjectFiles;
import io.quantbridge.project.ProjectSpec;
import io.quantbridge.project.Workflow;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code quantbridge config}: the vendor's config template from the user's model. */
@Command(name = "config", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write the quantization config (the vendor's config_gen.json) for your model: every quantizable "
                + "layer listed at \"float\". Edit it to choose layers (\"Quant_INT8-8\"), or pass --quantize-all.",
                "PyTorch: --model names your model factory and --input-shape the deployed input shape. TensorFlow: "
                        + "--model names your graph builder."})
final class ConfigCommand implements Callable<Integer> {
    /** The calibration methods, as the option spells them. */
    enum Method { minmax, percentile, mse }

    @Spec
    CommandSpec spec;

    @Mixin
    ProjectOptions project;

    @Option(names = "--input-shape", paramLabel = "SHAPE",
            description = "PyTorch: the deployed model's input shape, e.g. x:1,3,224,224 (inputs separated by ';').")
    String inputShape;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", defaultValue = "config_gen.json",
            description = "The config file to write (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--force", description = "Replace an existing file.")
    boolean force;

    @Option(names = "--quantize-all", description = "Set every supported layer to Quant_INT8-8.")
    boolean quantizeAll;

    @Option(names = "--calibration", paramLabel = "METHOD",
            description = "How calibration turns statistics into ranges: ${COMPLETION-CANDIDATES} (default: minmax).")
    Method calibration;

    @Option(names = "--percentile", paramLabel = "P", description = "Percentile kept by 'percentile' (default: 99.99).")
    Double percentile;

    @Option(names = "--bins", paramLabel = "N", description = "Histogram bins for 'percentile' and 'mse' (default: 2048).")
    Integer bins;

    @Mixin
    VendorNamesOption vendorNames;

    @Override
    public Integer call() throws Exception {
        Framework fw = ProjectSpec.resolveFramework(project.asked(), null);
        ProjectSpec projectSpec = project.spec(fw);
        if (percentile != null || bins != null) {
            new Calibration("percentile", percentile == null ? 99.99 : percentile, bins == null ? 2048 : bins);
        }
        if (inputShape != null) {
            if (fw != Framework.TORCH) {
                throw new IllegalArgumentException("--input-shape is for PyTorch models; a TensorFlow config has no "
                        + "input_shape (the graph's placeholders define it): drop the option");
            }
            InputShape.parse(inputShape);
        } else if (fw == Framework.TORCH) {
            throw new IllegalArgumentException("PyTorch needs the deployed input shape: pass --input-shape, e.g. "
                    + "--input-shape x:1,3,224,224");
        }
        ProjectFiles.checkOutput(out, force, "--out");
        QuantConfig cfg = CliRun.run(spec, projectSpec, vendorNames, java.util.List.of(out),
                (wf, rt) -> wf.generateConfig(inputShape));
        int quantized = Workflow.edit(cfg, quantizeAll, calibration == null ? null : calibration.name(), percentile, bins);
        cfg.write(out, force);
        PrintWriter o = spec.commandLine().getOut();
        o.printf("wrote %s: %d %s layers, %d set to Quant_INT8-8, calibration %s%n", out, cfg.layers().size(),
                ProjectSpec.name(fw), quantized, cfg.calibration().method());
        if (!quantizeAll) {
            o.println("next: set the layers to quantize to \"Quant_INT8-8\" in " + out + " (or rerun with --quantize-all)");
        }
        o.flush();
        return 0;
    }
}
