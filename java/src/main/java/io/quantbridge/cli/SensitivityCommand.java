package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import io.quantbridge.config.InputShape;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.sensitivity.SensitivityAnalyzer;
import io.quantbridge.sensitivity.SensitivityResult;
import io.quantbridge.sensitivity.Target;
import io.quantbridge.tf.TfProject;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quantbridge sensitivity}: automatic mixed precision. Measures each quantized layer of
 * the starting config and writes a config that keeps the fewest layers in float for the target.
 */
@Command(name = "sensitivity", mixinStandardHelpOptions = true,
        description = {"Measure each quantized layer's effect on the model (output SQNR against the float model, and "
                + "your evaluation function's metric when given) and write a config that keeps the fewest layers in "
                + "float to meet the target. The starting config's quantized layers are the candidates.",
                "Exit 0 when the target is met (the config is written), 1 when even all candidates in float miss it."})
public final class SensitivityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** The two frameworks, as the option spells them. */
    enum Fw { torch, tensorflow }

    @Option(names = "--framework", description = "torch or tensorflow (default: from the config's op types).")
    Fw framework;

    @Option(names = "--pythonpath", split = ",", paramLabel = "DIR",
            description = "Directories put on sys.path (comma-separated or repeated).")
    List<Path> pythonPath = new ArrayList<>();

    @Option(names = "--model", paramLabel = "module:function", description = "PyTorch: the float model factory.")
    String model;

    @Option(names = "--input-shape", paramLabel = "SHAPE",
            description = "PyTorch: the deployed input shape written into the config, e.g. x:1,3,224,224.")
    String inputShape;

    @Option(names = "--graph", paramLabel = "module:function", description = "TensorFlow: the float graph builder.")
    String graph;

    @Option(names = "--input", paramLabel = "NAME", description = "TensorFlow: the input tensor, e.g. input:0.")
    String input;

    @Option(names = "--outputs", split = ",", paramLabel = "NAME", description = "TensorFlow: the output node names.")
    List<String> outputs = new ArrayList<>();

    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "The trained float weights: TensorFlow checkpoint prefix (required), or a PyTorch state_dict "
                    + ".pth loaded into the factory's model (optional).")
    Path checkpoint;

    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "The starting config; its quantized layers are the candidates.")
    Path config;

    @Option(names = "--data", required = true, paramLabel = "module:function",
            description = "Returns the input batches (calibration and SQNR).")
    String data;

    @Option(names = "--batches", defaultValue = "0", paramLabel = "N", description = "Use at most N batches (0: all).")
    int batches;

    @Option(names = "--eval", paramLabel = "module:function",
            description = "Your evaluation: fn(model) for PyTorch, fn(sess, info, feed_extra=...) for TensorFlow; "
                    + "returns a number such as accuracy in percent.")
    String eval;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TargetOption target;

    /** Exactly one of the two targets. */
    static final class TargetOption {
        @Option(names = "--max-drop", paramLabel = "POINTS",
                description = "At most this many points of the evaluation metric below float (needs --eval).")
        Double maxDrop;

        @Option(names = "--min-sqnr", paramLabel = "DB", description = "An output SQNR of at least this many dB.")
        Double minSqnr;

        Target toTarget() {
            return maxDrop != null ? Target.maxDrop(maxDrop) : Target.minSqnrDb(minSqnr);
        }
    }

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where the new config is written.")
    Path out;

    @Option(names = "--force", description = "Overwrite --out if it exists.")
    boolean force;

    /** Creates the command (Main registers it; tests build it directly). */
    public SensitivityCommand() {
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException("--out " + out + " exists; pass --force to overwrite it");
        }
        QuantConfig start = QuantConfig.read(config);
        Target goal = target.toTarget();
        if (goal.needsEval() && eval == null) {
            throw new IllegalArgumentException("--max-drop compares your evaluation metric: give --eval "
                    + "module:function, or use --min-sqnr");
        }
        Fw fw = framework != null ? framework : start.framework() == Framework.TORCH ? Fw.torch : Fw.tensorflow;
        SensitivityResult result;
        try (PythonRuntime rt = PythonRuntime.open(); ConsoleProgress progress = new ConsoleProgress(System.out)) {
            result = fw == Fw.torch ? torch(rt, start, goal, progress) : tensorflow(rt, start, goal, progress);
            progress.finish();
        }
        stdout.print(result.table());
        if (!result.targetMet()) {
            stdout.println(result.note() + "; no config written");
            stdout.flush();
            return 1;
        }
        result.config().write(out, force);
        stdout.println("float layers: " + result.floatLayers() + "; config written to " + out);
        stdout.flush();
        return 0;
    }

    private SensitivityResult torch(PythonRuntime rt, QuantConfig start, Target goal, ConsoleProgress progress)
            throws Exception {
        require(model, "--model (module:function) for --framework torch");
        TorchQuantizer q = new TorchQuantizer(rt, new TorchProject(pythonPath, model, Map.of()));
        if (inputShape != null) {
            start.setInputShape(InputShape.parse(inputShape));
        }
        try (PyHandle floatModel = q.newFloatModel()) {
            if (checkpoint != null) {
                rt.call("quantbridge._java_support:load_torch_state", floatModel,
                        checkpoint.toAbsolutePath().toString());
            }
            try (QuantModel qm = q.optimize(floatModel, start)) {
                qm.calibrate(data, Map.of(), batches, progress);
                return SensitivityAnalyzer.forTorch(q, qm, data, eval, goal, batches, progress);
            }
        }
    }

    private SensitivityResult tensorflow(PythonRuntime rt, QuantConfig start, Target goal, ConsoleProgress progress)
            throws Exception {
        require(graph, "--graph (module:function) for --framework tensorflow");
        require(input, "--input (the input tensor name) for --framework tensorflow");
        require(checkpoint, "--checkpoint (the float checkpoint) for --framework tensorflow");
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException("missing --outputs (the output node names) for --framework tensorflow");
        }
        TfQuantizer q = new TfQuantizer(rt, new TfProject(pythonPath, graph, Map.of(), input, outputs));
        return SensitivityAnalyzer.forTf(q, start, checkpoint, data, eval, goal, batches, 0, progress);
    }

    private static void require(Object value, String what) {
        if (value == null) {
            throw new IllegalArgumentException("missing " + what);
        }
    }
}
