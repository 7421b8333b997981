package io.quantbridge.project;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Calibration;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.LayerEntry;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.config.Strategies;
import io.quantbridge.onnx.ModelSummary;
import io.quantbridge.onnx.OnnxInspector;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.QuantizedNode;
import io.quantbridge.onnx.QuantizedTensor;
import io.quantbridge.params.LayerParams;
import io.quantbridge.params.ModelInfo;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Describes a QuantBridge file for people: an ONNX model (its quantized layers with scales and
 * zero points, or a summary of a float model), a parameter file (a table per layer) or a config
 * (what would be quantized, and the calibration settings). The kind is told from the content.
 */
public final class FileInspector {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a file holds. */
    public enum Kind {
        /** An ONNX model. */
        ONNX,
        /** A quantization parameter file ({@code *_quant_param.json}). */
        PARAM_FILE,
        /** A quantization config ({@code config_gen.json}). */
        CONFIG
    }

    /**
     * The description of one file.
     *
     * @param kind what the file is
     * @param text the description, lines ending in newlines
     * @param problem why the file would be refused (a config that does not validate), or null
     */
    public record Inspection(Kind kind, String text, String problem) {
    }

    private FileInspector() {
    }

    /**
     * Reads and describes {@code file}.
     *
     * @throws QuantBridgeException if it is missing, or neither an ONNX model, a parameter file nor
     *     a config, or a parameter file that does not parse
     */
    public static Inspection inspect(Path file) throws QuantBridgeException {
        byte[] bytes = read(file);
        if (looksLikeJson(bytes)) {
            String text = new String(bytes, StandardCharsets.UTF_8);
            JsonNode root;
            try {
                root = JSON.readTree(text);
            } catch (IOException e) {
                throw new QuantBridgeException(file + " looks like JSON but does not parse: " + e.getMessage()
                        .lines().findFirst().orElse("") + "; expected a config or a parameter file", e);
            }
            if (root != null && QuantParams.FORMAT.equals(root.path("format").asText(null))) {
                return new Inspection(Kind.PARAM_FILE, params(file, ParamFile.parse(text, file.toString())), null);
            }
            if (root != null && root.has("layer_strategy")) {
                return config(file, QuantConfig.read(file));
            }
            throw new QuantBridgeException(file + " is JSON but neither a config (no 'layer_strategy') nor a parameter file "
                    + "(no \"format\": \"" + QuantParams.FORMAT + "\")");
        }
        ModelProto model;
        try {
            model = OnnxModels.parse(bytes);
        } catch (QuantBridgeException e) {
            throw new QuantBridgeException(file + " is not an ONNX model, a parameter file or a config (a TensorFlow .pb? "
                    + "inspect its <name>_quant_param.json instead)", e);
        }
        return new Inspection(Kind.ONNX, onnx(file, model), null);
    }

    private static byte[] read(Path file) throws QuantBridgeException {
        if (!Files.isRegularFile(file)) {
            throw new QuantBridgeException(file + (Files.isDirectory(file) ? " is a directory" : " does not exist")
                    + "; expected an ONNX model, a parameter file or a config");
        }
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static boolean looksLikeJson(byte[] b) {
        int i = b.length >= 3 && (b[0] & 0xff) == 0xef && (b[1] & 0xff) == 0xbb && (b[2] & 0xff) == 0xbf ? 3 : 0;
        while (i < b.length && Character.isWhitespace(b[i])) {
            i++;
        }
        return i < b.length && b[i] == '{';
    }

    private static Inspection config(Path file, QuantConfig cfg) {
        Framework fw = cfg.framework();
        StringBuilder sb = new StringBuilder();
        List<LayerEntry> layers = cfg.layers();
        long quantized = layers.stream().filter(LayerEntry::isQuantized).count();
        sb.append(file).append(": ").append(ProjectSpec.name(fw)).append(" quantization config, ").append(layers.size())
                .append(" layers, ").append(quantized).append(" quantized\n");
        String problem = null;
        try {
            cfg.inputShape().ifPresent(s -> sb.append("  input_shape  ").append(s.format()).append('\n'));
            Calibration c = cfg.calibration();
            sb.append("  calibration  ").append(c.method());
            if (!c.method().equals("minmax")) {
                sb.append(String.format(Locale.ROOT, " (percentile %s, bins %d)", num(c.percentile()), c.bins()));
            }
            sb.append('\n');
            cfg.validate();
        } catch (ConfigException e) {
            problem = e.getMessage();
        }
        TextTable t = new TextTable("layer", "op type", "strategy");
        for (LayerEntry e : layers) {
            String note = e.opType() != null && !Strategies.isSupported(e.opType(), e.strategy())
                    ? "  (unsupported; expected one of " + Strategies.supported(e.opType()) + ")" : "";
            t.row(e.name(), shortOp(e.opType()), e.strategy() + note);
        }
        sb.append('\n').append(t.format(2));
        return new Inspection(Kind.CONFIG, sb.toString(), problem);
    }

    private static String params(Path file, QuantParams p) {
        StringBuilder sb = new StringBuilder();
        sb.append(file).append(": QuantBridge parameter file (").append(ProjectSpec.name(p.framework())).append("), ")
                .append(p.layers().size()).append(" layers, ").append(p.quantizedLayers().size()).append(" quantized\n");
        ModelInfo m = p.model();
        if (m != null) {
            sb.append("  model        ").append(m.file()).append(" (sha256 ").append(m.sha256(), 0, Math.min(12, m.sha256().length()))
                    .append("...)\n");
            if (m.inputShape() != null) {
                sb.append("  input_shape  ").append(m.inputShape()).append('\n');
            }
            if (!m.outputs().isEmpty()) {
                sb.append("  outputs      ").append(String.join(", ", m.outputs())).append('\n');
            }
        }
        TextTable t = new TextTable("layer", "op type", "strategy", "node", "weight scales (axis)", "input scale",
                "zero point", "input range");
        for (LayerParams l : p.layers()) {
            String w = l.weight() == null ? null : range(l.weight().scale()) + " ("
                    + (l.weight().multiAxis() ? l.weight().channelAxes() : l.weight().axis()) + ")";
            var a = l.activation();
            String node = l.nodeNames().size() > 1 ? String.join(", ", l.nodeNames()) : l.node();
            t.row(l.name(), shortOp(l.opType()), l.quantStrategy(), node, w, a == null ? null : num(a.scale()),
                    a == null ? null : a.zeroPoint(), a == null ? null : num(a.min()) + " .. " + num(a.max()));
        }
        sb.append('\n').append(t.format(2));
        return sb.toString();
    }

    private static String onnx(Path file, ModelProto model) {
        ModelSummary s = OnnxInspector.summary(model);
        StringBuilder sb = new StringBuilder();
        sb.append(file).append(": ONNX model, ").append(s.isQuantized() ? "quantized (QDQ)" : "float")
                .append(", IR ").append(s.irVersion()).append(", opset ").append(s.opset())
                .append(s.producer().isEmpty() ? "" : ", producer " + s.producer()).append('\n');
        sb.append("  inputs       ").append(String.join(", ", s.inputs())).append('\n');
        sb.append("  outputs      ").append(String.join(", ", s.outputs())).append('\n');
        sb.append("  nodes        ").append(s.nodes()).append(": ").append(s.opCounts().entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "))).append('\n');
        sb.append("  initializers ").append(s.initializers()).append('\n');
        sb.append("  batch norm   ").append(s.batchNorm() ? "BatchNormalization nodes present" : "none (folded)").append('\n');
        if (!s.isQuantized()) {
            sb.append("  no QuantizeLinear/DequantizeLinear: a float model (its scales are in the parameter file)\n");
            return sb.toString();
        }
        List<QuantizedNode> layers = OnnxInspector.quantizedLayers(model);
        sb.append("  quantized    ").append(layers.size()).append(" layers (QuantizeLinear ").append(s.quantizeLinear())
                .append(", DequantizeLinear ").append(s.dequantizeLinear()).append(")\n");
        TextTable t = new TextTable("node", "op", "weight", "weight scales (axis)", "input", "input scale", "zero point");
        for (QuantizedNode n : layers) {
            QuantizedTensor w = n.weight();
            QuantizedTensor a = n.activation();
            t.row(n.node(), n.opType(), w == null ? null : w.dtype() + zeroPoint(w) + " " + w.shape(),
                    w == null ? null : range(w.scales()) + (w.axis() == null ? "" : " (" + w.axis() + ")"),
                    a == null ? null : a.tensor(), a == null ? null : range(a.scales()),
                    a == null ? null : a.zeroPoints().stream().distinct().map(String::valueOf).collect(Collectors.joining(",")));
        }
        sb.append('\n').append(t.format(2));
        return sb.toString();
    }

    /** {@code nn.Conv2d} for {@code <class 'torch.nn.modules.conv.Conv2d'>}; TF op types as they are. */
    static String shortOp(String opType) {
        if (opType != null && Framework.isTorchOpType(opType) && opType.endsWith("'>")) {
            String cls = opType.substring(opType.lastIndexOf('.') + 1, opType.length() - 2);
            return "nn." + cls;
        }
        return opType;
    }

    /** " zp 128" for weights stored with a non-zero zero point (uint8 codes, int8 plus 128), "" for zero. */
    private static String zeroPoint(QuantizedTensor w) {
        List<Integer> zps = w.zeroPoints().stream().distinct().toList();
        if (zps.isEmpty() || zps.equals(List.of(0))) {
            return "";
        }
        return " zp " + zps.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    private static String range(List<Double> values) {
        if (values.isEmpty()) {
            return "-";
        }
        double lo = values.stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double hi = values.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        return values.size() == 1 ? num(lo) : values.size() + " in " + num(lo) + " .. " + num(hi);
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }
}
