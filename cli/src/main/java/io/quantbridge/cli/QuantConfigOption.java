package io.quantbridge.cli;

import io.quantbridge.config.ConfigException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.project.ProjectSpec;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code -c/--config FILE}, the quantization config; shared by calibrate, train, export and report. */
final class QuantConfigOption {
    /** The config read, the framework it resolves to and the user's project for that framework. */
    record Loaded(QuantConfig config, Framework framework, ProjectSpec project) {
    }

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The quantization config.")
    Path path;

    /** Reads the config, resolves the framework ({@code --framework} or the config's op types) and the project. */
    Loaded load(ProjectOptions project) throws ConfigException {
        QuantConfig cfg = QuantConfig.read(path);
        Framework fw = ProjectSpec.resolveFramework(project.asked(), cfg);
        return new Loaded(cfg, fw, project.spec(fw));
    }
}
