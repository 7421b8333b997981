package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.quantbridge.QuantBridgeException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What ONNX Runtime actually runs: the graph after its optimizations (QDQ fusion into integer
 * kernels such as {@code QLinearConv}, {@code QLinearAdd}, {@code QGemm}), read back from the
 * file {@code SessionOptions.setOptimizedModelFilePath} writes.
 */
public final class OrtOptimized {
    /** Op types of ONNX Runtime's integer kernels (default and {@code com.microsoft} domains). */
    public static final java.util.List<String> INTEGER_KERNELS = java.util.List.of("QLinearConv", "QLinearMatMul",
            "MatMulInteger", "ConvInteger", "QGemm", "QLinearAdd", "QLinearMul", "QLinearConcat",
            "QLinearGlobalAveragePool", "QLinearAveragePool", "QLinearLeakyRelu", "QLinearSigmoid");

    private OrtOptimized() {
    }

    /**
     * ONNX Runtime's optimized graph of {@code model} (CPU, all optimizations).
     *
     * @throws QuantBridgeException if ONNX Runtime cannot load the model or the file cannot be read
     */
    public static ModelProto optimize(ModelProto model) throws QuantBridgeException {
        Objects.requireNonNull(model, "model");
        Path dir = null;
        try {
            dir = Files.createTempDirectory("quantbridge-ort");
            Path out = dir.resolve("optimized.onnx");
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setIntraOpNumThreads(1);
                // the file is read back here, on this machine: ORT's warning that an NCHWc-optimized model is
                // hardware specific is about deploying it, which nobody does
                options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
                options.setOptimizedModelFilePath(out.toString());
                try (OrtSession ignored = env.createSession(model.toByteArray(), options)) {
                    // the optimized model is written while the session is created
                }
            }
            return OnnxModels.load(out);
        } catch (OrtException e) {
            throw new QuantBridgeException("ONNX Runtime cannot optimize the model: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot write ONNX Runtime's optimized model: " + e.getMessage(), e);
        } finally {
            if (dir != null) {
                try (var files = Files.list(dir)) {
                    for (Path p : (Iterable<Path>) files::iterator) {
                        Files.deleteIfExists(p);
                    }
                    Files.deleteIfExists(dir);
                } catch (IOException ignored) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }

    /** Node count per op type of a graph (top level), sorted by op type. */
    public static Map<String, Integer> opCounts(ModelProto model) {
        Map<String, Integer> counts = new TreeMap<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            counts.merge(n.getOpType(), 1, Integer::sum);
        }
        return counts;
    }

    /** How many nodes of ONNX Runtime's optimized {@code model} are integer kernels. */
    public static int integerKernels(Map<String, Integer> counts) {
        return INTEGER_KERNELS.stream().mapToInt(op -> counts.getOrDefault(op, 0)).sum();
    }
}
