package io.quantbridge.cli;

import io.quantbridge.bench.Int8Benchmark;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quantbridge bench}: benchmarks that print numbers. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (they print numbers).",
        subcommands = {BenchCommand.Int8.class})
final class BenchCommand {
    /** {@code quantbridge bench int8}. */
    @Command(name = "int8", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"INT8 ONNX latency against the float ONNX and ONNX Runtime's own quantize_static (QDQ, "
                    + "per channel, U8S8) of the same float model: torchvision resnet18 and mobilenet_v2 "
                    + "(num_classes=10, 3x64x64) trained briefly on digits scaled to 64x64, every layer "
                    + "Quant_INT8-8, calibrated; QuantBridge's INT8 ONNX with uint8 weights (the default), with int8 "
                    + "weights, and with reduce_range and int8 weights; batch 1 and 32, medians over interleaved rounds of "
                    + "settled blocks. Prints whether this CPU has VNNI. Needs torchvision (in the pinned stack)."})
    static final class Int8 implements Callable<Integer> {
        @Option(names = "--models", split = ",", defaultValue = "resnet18,mobilenet_v2",
                description = "Models from benchmarks/int8_models.py (default: ${DEFAULT-VALUE}).")
        List<String> models;

        @Option(names = "--rounds", defaultValue = "15", description = "Interleaved rounds per batch size; each gives every variant 2 settling and 5 timed runs "
                + "(default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
        int threads;

        @Option(names = "--epochs", defaultValue = "3",
                description = "Float training epochs on the digits (default: ${DEFAULT-VALUE}: about 96 % test accuracy, "
                        + "so that agreement is measured on a model with real margins).")
        int epochs;

        @Option(names = "--out", defaultValue = "quantbridge_bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
        Path out;

        @Option(names = "--bench-dir", defaultValue = "benchmarks",
                description = "Directory of int8_models.py (default: ${DEFAULT-VALUE}).")
        Path benchDir;

        @Override
        public Integer call() throws Exception {
            if (rounds < 1 || threads < 1 || epochs < 0) {
                throw new IllegalArgumentException("--rounds and --threads must be >= 1 and --epochs >= 0, got "
                        + rounds + ", " + threads + ", " + epochs);
            }
            if (!Files.isRegularFile(benchDir.resolve("int8_models.py"))) {
                throw new IllegalArgumentException("--bench-dir " + benchDir + " has no int8_models.py; run from the "
                        + "QuantBridge checkout or pass --bench-dir");
            }
            Files.createDirectories(out);
            Int8Benchmark.Options o = new Int8Benchmark.Options(models, rounds, threads, epochs,
                    out.toAbsolutePath().normalize(), benchDir.toAbsolutePath().normalize());
            try (PythonRuntime rt = PythonRuntime.open()) {
                rt.call("torch:set_num_threads", threads);
                List<Int8Benchmark.Row> rows = new Int8Benchmark(rt, o, System.out).run();
                System.out.println();
                System.out.print(Int8Benchmark.table(rows));
            }
            return 0;
        }
    }
}
