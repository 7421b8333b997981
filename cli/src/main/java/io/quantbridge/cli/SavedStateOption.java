package io.quantbridge.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --from STATE}, a saved quant state that must be given; shared by export and report. */
final class SavedStateOption {
    @Option(names = "--from", required = true, paramLabel = "STATE",
            description = "The calibrated or trained state (PyTorch .pth, TensorFlow checkpoint prefix).")
    Path path;
}
