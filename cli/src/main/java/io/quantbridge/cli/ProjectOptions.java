package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import io.quantbridge.project.ProjectSpec;
import io.quantbridge.project.UserArgs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options that describe the user's project; shared by config, calibrate, train, export and report. */
final class ProjectOptions {
    /** The two frameworks, as the option spells them. */
    enum Fw {
        torch, tensorflow;

        Framework framework() {
            return this == torch ? Framework.TORCH : Framework.TENSORFLOW;
        }
    }

    @Option(names = "--framework", paramLabel = "torch|tensorflow",
            description = "The framework (default: told by the config's op types; required by config).")
    Fw framework;

    @Option(names = {"-P", "--pythonpath"}, split = "[:,]", splitSynopsisLabel = ":", paramLabel = "DIR",
            description = "Directories put on sys.path, e.g. your project's root (repeat, or separate with ':'). "
                    + "Default: the current directory.")
    List<Path> pythonPath = new ArrayList<>();

    @Option(names = {"-m", "--model", "--graph"}, required = true, paramLabel = "MODULE:FUNCTION",
            description = {"PyTorch: the model factory, returning a fresh float torch.nn.Module.",
                    "TensorFlow: the graph builder: builds the float graph in the default graph (no weights) and "
                            + "returns a dict of tensor names with at least 'input' and 'output'."})
    String model;

    @Option(names = "--model-arg", paramLabel = "KEY=VALUE",
            description = "Keyword argument for the model function (repeatable; values are read as JSON when they "
                    + "parse, e.g. 3, 0.5, true, [1,2], else as text).")
    Map<String, String> modelArgs = new LinkedHashMap<>();

    @Option(names = "--input-name", paramLabel = "TENSOR",
            description = "TensorFlow: the model's input tensor (default: the builder's info['input']).")
    String inputName;

    @Option(names = "--output-name", paramLabel = "NODE",
            description = "TensorFlow: an output node of the model (repeatable; default: the builder's info['output']).")
    List<String> outputNames = new ArrayList<>();

    /** The {@code --framework} value, or null. */
    Framework asked() {
        return framework == null ? null : framework.framework();
    }

    /** The project for {@code fw}. */
    ProjectSpec spec(Framework fw) {
        return new ProjectSpec(fw, pythonPath.isEmpty() ? List.of(Path.of(".")) : pythonPath, model,
                UserArgs.parse(modelArgs, "--model-arg"), inputName, outputNames);
    }
}
