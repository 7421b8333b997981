package io.quantbridge.project;

import java.nio.file.Path;
import java.util.List;

/**
 * What one step produced.
 *
 * @param files the files written (a TensorFlow checkpoint is listed by its prefix)
 * @param batches calibration batches seen, or -1 for other steps
 * @param trainResult what the user's training function returned (null for other steps)
 * @param floatAccuracy the {@code --eval} result on the float model, or null when not measured
 * @param quantAccuracy the {@code --eval} result on the quantized model, or null when not measured
 * @param quantizedLayers layers not at {@code float} in the config
 * @param layers layers in the config
 * @param deployed the deployed files run on the user's batches ({@code export -d}), empty without {@code -d}
 */
public record StepResult(List<Path> files, long batches, Object trainResult, Double floatAccuracy,
                         Double quantAccuracy, int quantizedLayers, int layers, List<DeployedCheck> deployed) {
    /** Copies the lists. */
    public StepResult {
        files = List.copyOf(files);
        deployed = deployed == null ? List.of() : List.copyOf(deployed);
    }

    /** A result without a deployed-file check. */
    public StepResult(List<Path> files, long batches, Object trainResult, Double floatAccuracy, Double quantAccuracy,
                      int quantizedLayers, int layers) {
        this(files, batches, trainResult, floatAccuracy, quantAccuracy, quantizedLayers, layers, List.of());
    }
}
