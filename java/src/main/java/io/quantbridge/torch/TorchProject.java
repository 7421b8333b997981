package io.quantbridge.torch;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The user's PyTorch project as QuantBridge sees it.
 *
 * @param pythonPath directories put on {@code sys.path} (the project's root, say)
 * @param modelFactory {@code package.module:function} returning a fresh float {@code nn.Module}
 * @param factoryKwargs keyword arguments for the factory
 */
public record TorchProject(List<Path> pythonPath, String modelFactory, Map<String, Object> factoryKwargs) {
    /** Validates the factory target's form. */
    public TorchProject {
        if (modelFactory == null || !modelFactory.matches("[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*")) {
            throw new IllegalArgumentException("model factory must be 'package.module:function', got '" + modelFactory + "'");
        }
        pythonPath = List.copyOf(pythonPath);
        factoryKwargs = Map.copyOf(factoryKwargs);
    }

    /** A project whose factory takes no arguments. */
    public static TorchProject of(String modelFactory, Path... pythonPath) {
        return new TorchProject(List.of(pythonPath), modelFactory, Map.of());
    }
}
