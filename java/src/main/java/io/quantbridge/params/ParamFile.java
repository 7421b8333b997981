package io.quantbridge.params;

import io.quantbridge.json.Json;
import io.quantbridge.json.PythonRepr;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The quantization parameter file ({@code *_quant_param.json}).
 *
 * <p>This package owns the file's schema: every run driven from Java (command line, library,
 * service) writes the file here, once, from the numbers the shim returns. The shim's
 * {@code quantbridge.common.paramfile} writes the same schema only for the vendor's plain-Python
 * {@code generate_final_model}, where no JVM runs; the end-to-end tests read such files here.
 * Written in {@link Json#write}'s layout, ASCII-escaped, keys in the schema's order; unknown keys
 * in a file being read are ignored; version-1 files (no points) are still read.
 */
public final class ParamFile {
    private ParamFile() {
    }

    /**
     * Reads and checks a parameter file.
     *
     * @throws QuantBridgeException if the file is missing or unreadable, not JSON, not a
     *     QuantBridge parameter file, of another version, or has a malformed value (named by its key path)
     */
    public static QuantParams read(Path path) throws QuantBridgeException {
        Objects.requireNonNull(path, "path");
        if (!Files.isRegularFile(path)) {
            throw new QuantBridgeException("parameter file " + PythonRepr.of(path.toString()) + " does not exist");
        }
        try {
            return parse(Files.readString(path, StandardCharsets.UTF_8), path.toString());
        } catch (IOException e) {
            throw new QuantBridgeException("parameter file " + path + " cannot be read: " + e, e);
        }
    }

    /**
     * Parses parameter-file JSON text.
     *
     * @param source the file name or description used in messages
     * @throws QuantBridgeException if the text is not a valid parameter file
     */
    public static QuantParams parse(String json, String source) throws QuantBridgeException {
        JsonNode root;
        try {
            root = Json.parse(json);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new QuantBridgeException(source + " is not valid JSON: " + e.getOriginalMessage()
                    + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr()), e);
        }
        return ParamsTree.params(root, source);
    }

    /**
     * The file's text for {@code params}.
     *
     * @throws IllegalArgumentException if the parameters have no model info
     */
    public static String toJson(QuantParams params) {
        return Json.write(ParamsTree.toTree(params), true);
    }

    /**
     * Writes the parameter file atomically, replacing an existing file.
     *
     * @throws QuantBridgeException if the directory does not exist or writing fails
     * @throws IllegalArgumentException if the parameters have no model info
     */
    public static Path write(Path path, QuantParams params) throws QuantBridgeException {
        return write(path, params, true);
    }

    /**
     * Writes the parameter file atomically.
     *
     * @param overwrite false to refuse replacing an existing file
     * @throws QuantBridgeException if the file exists and overwrite is false, or writing fails
     * @throws IllegalArgumentException if the parameters have no model info
     */
    public static Path write(Path path, QuantParams params, boolean overwrite) throws QuantBridgeException {
        return AtomicFiles.writeString(path, toJson(params), overwrite);
    }
}
