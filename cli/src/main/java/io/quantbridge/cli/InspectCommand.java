package io.quantbridge.cli;

import io.quantbridge.config.ConfigException;
import io.quantbridge.project.FileInspector;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code quantbridge inspect FILE}: what a model, parameter file or config holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Describe a file, told by its content: an ONNX model (its quantized layers with scales and zero "
                + "points, or a summary of a float model), a parameter file (a table per layer) or a config (what "
                + "would be quantized, and the calibration settings). Runs without Python.",
                "Exits 2 when a config would be refused (the problem is printed after the table)."})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "An .onnx model, a *_quant_param.json or a config.")
    Path file;

    @Override
    public Integer call() throws Exception {
        FileInspector.Inspection i = FileInspector.inspect(file);
        PrintWriter out = spec.commandLine().getOut();
        out.print(i.text());
        out.flush();
        if (i.problem() != null) {
            throw new ConfigException(i.problem());
        }
        return 0;
    }
}
