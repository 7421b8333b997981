package io.quantbridge.params;

import java.util.List;
import java.util.Objects;

/**
 * The exported float model the parameters belong to.
 *
 * @param file the model's file name (no directory), e.g. {@code model.onnx}
 * @param sha256 hex SHA-256 of that file
 * @param inputShape the vendor's input shape string, or null
 * @param outputs the model's output names (may be empty)
 */
public record ModelInfo(String file, String sha256, String inputShape, List<String> outputs) {
    /** Checks presence of file and hash. */
    public ModelInfo {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(sha256, "sha256");
        outputs = List.copyOf(outputs == null ? List.of() : outputs);
    }
}
