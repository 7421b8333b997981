package io.quantbridge.cli;

import io.quantbridge.demo.DemoOptions;
import io.quantbridge.demo.DemoResult;
import io.quantbridge.demo.DemoRow;
import io.quantbridge.demo.TfDigitsDemo;
import io.quantbridge.demo.TorchDigitsDemo;
import io.quantbridge.runtime.PythonRuntime;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code quantbridge demo}: the built-in example end to end. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the built-in example end to end: a small CNN (conv, BN, ReLU, depthwise conv, linear) on "
                + "scikit-learn's digits is trained briefly, calibrated (PTQ), retrained (QAT), exported to ONNX, a "
                + "parameter file and an INT8 QDQ ONNX, which ONNX Runtime runs from Java. Prints a table of accuracies, "
                + "sizes and times."})
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--out", defaultValue = "quantbridge_out", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--float-epochs", defaultValue = "12", description = "Float training epochs (default: ${DEFAULT-VALUE}).")
    int floatEpochs;

    @Option(names = "--qat-epochs", defaultValue = "2", description = "QAT epochs (default: ${DEFAULT-VALUE}).")
    int qatEpochs;

    @Option(names = "--calibration", defaultValue = "percentile",
            description = "Calibration method: minmax, percentile or mse (default: ${DEFAULT-VALUE}).")
    String calibration;

    enum Framework { torch, tensorflow, both }

    @Option(names = "--framework", defaultValue = "both",
            description = "Which half to run: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    Framework framework;

    @Override
    public Integer call() throws Exception {
        PrintStream stdout = System.out;
        Files.createDirectories(out);
        DemoOptions options = new DemoOptions(out.normalize(), floatEpochs, qatEpochs, calibration);
        List<DemoRow> rows = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        try (PythonRuntime rt = PythonRuntime.open(); ConsoleProgress progress = new ConsoleProgress(stdout)) {
            Interrupts.reinstall();
            if (framework != Framework.tensorflow) {
                stdout.println("QuantBridge demo: PyTorch digits CNN (files in " + options.outDir().resolve("torch") + ")");
                DemoResult torch = new TorchDigitsDemo(rt, options, progress).run();
                progress.finish();
                rows.addAll(torch.rows());
                notes.addAll(torch.notes());
            }
            if (framework != Framework.torch) {
                stdout.println("QuantBridge demo: TensorFlow digits CNN (files in " + options.outDir().resolve("tf") + ")");
                DemoResult tf = new TfDigitsDemo(rt, options, progress).run();
                progress.finish();
                rows.addAll(tf.rows());
                notes.addAll(tf.notes());
            }
        }
        stdout.println();
        stdout.print(new DemoResult(rows, notes).table());
        return 0;
    }
}
