package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --weights FILE.pth} / {@code --checkpoint PREFIX}, the float weights to start from; shared
 * by calibrate and sensitivity (train words them for its {@code --from}, so it keeps its own).
 */
final class FloatWeightsOptions {
    @Option(names = "--weights", paramLabel = "FILE.pth",
            description = "PyTorch: the float state_dict to load into the factory's model (optional: the factory may load its own).")
    Path weights;

    @Option(names = "--checkpoint", paramLabel = "PREFIX", description = "TensorFlow: the float checkpoint (required).")
    Path checkpoint;

    /**
     * The option that fits {@code fw}, or null.
     *
     * @throws IllegalArgumentException if the other framework's option was given
     */
    Path resolve(Framework fw) {
        return CliRun.floatWeights(fw, weights, checkpoint);
    }
}
