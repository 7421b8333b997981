package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.params.ModelInfo;
import io.quantbridge.io.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.OptionalLong;

/** Loading, saving (atomically), hashing and opset lookup of ONNX models. */
public final class OnnxModels {
    /** The default ONNX operator domain ({@code ""}; {@code "ai.onnx"} is accepted as an alias). */
    public static final String DEFAULT_DOMAIN = "";

    private OnnxModels() {
    }

    /**
     * Reads an ONNX model file.
     *
     * @throws QuantBridgeException if the file is missing, unreadable or not an ONNX model
     */
    public static ModelProto load(Path path) throws QuantBridgeException {
        Objects.requireNonNull(path, "path");
        if (!Files.isRegularFile(path)) {
            throw new QuantBridgeException("ONNX model " + path + " does not exist or is not a file");
        }
        try (InputStream in = Files.newInputStream(path)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            ModelProto model = ModelProto.parseFrom(coded);
            return checkParsed(model, path.toString());
        } catch (InvalidProtocolBufferException e) {
            throw new QuantBridgeException(path + " is not an ONNX model (protobuf parse failed: "
                    + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read ONNX model " + path + ": " + e, e);
        }
    }

    /**
     * Parses a serialized ONNX model.
     *
     * @throws QuantBridgeException if the bytes are not an ONNX model
     */
    public static ModelProto parse(byte[] bytes) throws QuantBridgeException {
        try {
            return checkParsed(ModelProto.parseFrom(bytes), "the model bytes");
        } catch (InvalidProtocolBufferException e) {
            throw new QuantBridgeException("the bytes are not an ONNX model (protobuf parse failed: "
                    + e.getMessage() + ")", e);
        }
    }

    private static ModelProto checkParsed(ModelProto model, String what) throws QuantBridgeException {
        if (!model.hasGraph() || model.getIrVersion() == 0) {
            throw new QuantBridgeException(what + " is not an ONNX model: expected a graph and an ir_version, found "
                    + (model.hasGraph() ? "ir_version 0" : "no graph"));
        }
        return model;
    }

    /**
     * Saves a model atomically, replacing an existing file.
     *
     * @throws QuantBridgeException if the directory does not exist or writing fails
     */
    public static Path save(ModelProto model, Path path) throws QuantBridgeException {
        return save(model, path, true);
    }

    /**
     * Saves a model atomically.
     *
     * @param overwrite false to refuse replacing an existing file
     * @throws QuantBridgeException if the file exists and overwrite is false, or writing fails
     */
    public static Path save(ModelProto model, Path path, boolean overwrite) throws QuantBridgeException {
        Objects.requireNonNull(model, "model");
        return AtomicFiles.write(path, overwrite, model::writeTo);
    }

    /**
     * The hex SHA-256 of a file (as the shim's {@code sha256_file}).
     *
     * @throws QuantBridgeException if the file cannot be read
     */
    public static String sha256(Path path) throws QuantBridgeException {
        return ModelInfo.sha256(path);
    }

    /** The hex SHA-256 of some bytes. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(newDigest().digest(bytes));
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The opset version the model imports for the default ONNX domain, if it imports one. */
    public static OptionalLong opset(ModelProto model) {
        return opset(model, DEFAULT_DOMAIN);
    }

    /** The opset version the model imports for {@code domain}, if it imports one. */
    public static OptionalLong opset(ModelProto model, String domain) {
        for (OperatorSetIdProto op : model.getOpsetImportList()) {
            String d = op.getDomain();
            boolean isDefault = d.isEmpty() || d.equals("ai.onnx");
            if (domain.isEmpty() || domain.equals("ai.onnx") ? isDefault : d.equals(domain)) {
                return OptionalLong.of(op.getVersion());
            }
        }
        return OptionalLong.empty();
    }
}
