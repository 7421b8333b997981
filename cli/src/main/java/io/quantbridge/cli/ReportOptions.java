package io.quantbridge.cli;

import io.quantbridge.project.Workflow;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --report DIR} and the data it is computed on; shared by train and export. */
final class ReportOptions {
    @Option(names = "--report", paramLabel = "DIR",
            description = "Also write the per-layer report (report.json, report.html) into this existing directory; "
                    + "needs --data.")
    Path report;

    @Option(names = {"-d", "--data"}, paramLabel = "MODULE:FUNCTION",
            description = "Your data function, returning an iterable of batches: with --report, for the statistics; "
                    + "on export, also to run the deployed file on (INT8 ONNX in ONNX Runtime, frozen .pb) and print its "
                    + "agreement with the quantized model and its accuracy on the batches' labels.")
    String data;

    @Mixin
    DataArgOption dataArgs;

    @Option(names = {"-n", "--batches"}, paramLabel = "N", defaultValue = "0",
            description = "With --data: at most N batches (default: all).")
    int batches;

    /**
     * The report request, or null without {@code --report}.
     *
     * @throws IllegalArgumentException if {@code --report} lacks {@code --data}, or {@code --batches} is negative
     */
    Workflow.Report request() {
        if (report == null) {
            return null;
        }
        return request(report, data, dataArgs, batches);
    }

    /** A report request into {@code dir} over the data function's batches. */
    static Workflow.Report request(Path dir, String data, DataArgOption dataArgs, int batches) {
        if (data == null) {
            throw new IllegalArgumentException("--report needs --data MODULE:FUNCTION: the batches the per-layer "
                    + "statistics are computed on");
        }
        DataArgOption.checkBatches(batches);
        return new Workflow.Report(dir, data, dataArgs.parse(), batches);
    }
}
