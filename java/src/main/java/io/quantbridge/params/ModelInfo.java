package io.quantbridge.params;

import io.quantbridge.QuantBridgeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
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

    /**
     * The entry for an exported model file: its name and hash, with the input shape and outputs
     * the export reported.
     *
     * @throws QuantBridgeException if the file cannot be read
     */
    public static ModelInfo of(Path modelFile, String inputShape, List<String> outputs) throws QuantBridgeException {
        return new ModelInfo(modelFile.getFileName().toString(), sha256(modelFile), inputShape, outputs);
    }

    /**
     * The hex SHA-256 of a file, the {@code sha256} of the parameter file's {@code model}.
     *
     * @throws QuantBridgeException if the file cannot be read
     */
    public static String sha256(Path path) throws QuantBridgeException {
        Objects.requireNonNull(path, "path");
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(path)) {
            for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                digest.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new QuantBridgeException("cannot hash " + path + ": " + e, e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
