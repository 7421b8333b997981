package io.quantbridge.cli;

import io.quantbridge.project.ProjectSpec;
import picocli.CommandLine.Option;

/**
 * {@code --trust-pickle}: load PyTorch {@code .pth} files with plain pickle. Without it they are
 * read by a restricted unpickler that loads only tensors and plain containers and refuses a file
 * naming anything else before any of it runs.
 */
final class TrustPickleOption {
    @Option(names = "--trust-pickle",
            description = "PyTorch: load .pth files with plain pickle, which runs any code a file names. Only for "
                    + "files you made or trust; without it, a file that names anything but tensors and plain "
                    + "containers is refused.")
    boolean trust;

    /** {@code project} with this option applied. */
    ProjectSpec apply(ProjectSpec project) {
        return project.withTrustPickle(trust);
    }
}
