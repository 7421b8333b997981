package io.quantbridge.project;

import io.quantbridge.runtime.Targets;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.tf.TfProject;
import io.quantbridge.torch.TorchProject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The user's project as given on the command line.
 *
 * @param framework PyTorch or TensorFlow
 * @param pythonPath directories put at the front of {@code sys.path}
 * @param model {@code package.module:function}: the PyTorch model factory (returns a float
 *     {@code nn.Module}) or the TensorFlow graph builder (builds the float graph in the default
 *     graph and returns a dict of tensor names)
 * @param modelArgs keyword arguments for that function
 * @param input TensorFlow: the input tensor name, or null to take {@code info["input"]}
 * @param outputs TensorFlow: the output node names, or empty to take {@code info["output"]}
 * @param trustPickle PyTorch: load {@code .pth} files with plain pickle, which runs any code a file
 *     names; false (the default) loads only tensors and plain containers and refuses the rest
 */
public record ProjectSpec(Framework framework, List<Path> pythonPath, String model, Map<String, Object> modelArgs,
                          String input, List<String> outputs, boolean trustPickle) {
    /**
     * Checks presence and the form of the model target.
     *
     * @throws IllegalArgumentException if the framework is missing, the target is not
     *     {@code module:function} or a Python path entry is not a directory
     */
    public ProjectSpec {
        if (framework == null) {
            throw new IllegalArgumentException("the framework is unknown: pass --framework torch or --framework tensorflow");
        }
        Targets.checkForm(model, "--model");
        for (Path p : pythonPath) {
            if (!Files.isDirectory(p)) {
                throw new IllegalArgumentException("--pythonpath " + p + " is not a directory; pass your project's root "
                        + "(the directory that holds the package of --model)");
            }
        }
        pythonPath = List.copyOf(pythonPath);
        modelArgs = Map.copyOf(modelArgs);
        outputs = List.copyOf(outputs == null ? List.of() : outputs);
    }

    /** A project whose {@code .pth} files are loaded safely (no {@code trustPickle}). */
    public ProjectSpec(Framework framework, List<Path> pythonPath, String model, Map<String, Object> modelArgs,
                       String input, List<String> outputs) {
        this(framework, pythonPath, model, modelArgs, input, outputs, false);
    }

    /** This project with {@code trustPickle} set as given. */
    public ProjectSpec withTrustPickle(boolean trust) {
        return new ProjectSpec(framework, pythonPath, model, modelArgs, input, outputs, trust);
    }

    /** The PyTorch project ({@code model} is the factory). */
    public TorchProject torchProject() {
        return new TorchProject(pythonPath, model, modelArgs);
    }

    /** The TensorFlow project with the given input and output names ({@code model} is the graph builder). */
    public TfProject tfProject(String inputName, List<String> outputNames) {
        return new TfProject(pythonPath, model, modelArgs, inputName, outputNames);
    }

    /**
     * The framework to use: the one asked for, else the one the config's op types tell.
     *
     * @param asked the {@code --framework} value, or null
     * @param config the config, or null when there is none yet
     * @throws ConfigException if both are given and disagree
     * @throws IllegalArgumentException if neither is given
     */
    public static Framework resolveFramework(Framework asked, QuantConfig config) throws ConfigException {
        if (config == null) {
            if (asked == null) {
                throw new IllegalArgumentException("cannot tell the framework without a config: pass --framework torch "
                        + "or --framework tensorflow");
            }
            return asked;
        }
        Framework found = config.framework();
        if (asked != null && asked != found) {
            throw new ConfigException(config.source() + " is a " + name(found) + " config (judging by its op types) but "
                    + "--framework " + asked.id() + " was given; drop --framework or pass the matching config");
        }
        return found;
    }

    /** {@code PyTorch} or {@code TensorFlow}. */
    public static String name(Framework f) {
        return f == Framework.TORCH ? "PyTorch" : "TensorFlow";
    }
}
