package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonException;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One verdict for a config, whichever way it arrives: a corpus of configs goes through the Java path
 * ({@code QuantConfig.read}, {@code validate}, the shim's fit check through {@code TorchQuantizer.resolve})
 * and through the plain-Python path ({@code quantbridge.torch.optimize_model(model, path)}, as a user's
 * script calls it) in the real interpreter; the two must accept the same configs and reject the others
 * with the same message.
 */
class ConfigParityTest {
    private static final String EX = "quantbridge.examples.digits_torch";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static PythonRuntime rt;
    private static TorchQuantizer q;
    private static PyHandle model;
    private static String template;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void open() throws Exception {
        rt = Runtimes.open();
        q = new TorchQuantizer(rt, TorchProject.of(EX + ":build_model"));
        model = q.newFloatModel();
        template = q.generateConfig(model, "x:1,1,8,8").toJson();
    }

    @AfterAll
    static void close() {
        model.close();
        rt.close();
    }

    private static ObjectNode layer(ObjectNode c, int i) {
        List<String> names = new ArrayList<>();
        c.get("layer_strategy").fieldNames().forEachRemaining(names::add);
        return (ObjectNode) c.get("layer_strategy").get(names.get(i));
    }

    private static ObjectNode section(ObjectNode c, String... path) {
        ObjectNode n = c;
        for (String p : path) {
            n = n.has(p) ? (ObjectNode) n.get(p) : n.putObject(p);
        }
        return n;
    }

    /** Name -> edit of the template; the Python-side verdicts come from the shim, never from this list. */
    private static Map<String, Consumer<ObjectNode>> corpus() {
        Map<String, Consumer<ObjectNode>> m = new LinkedHashMap<>();
        m.put("valid, all float", c -> { });
        m.put("valid, INT8 and comments", c -> {
            layer(c, 0).put("quant_strategy", "Quant_INT8-8");
            c.put("// note", "kept");
            section(c, "quantbridge", "calibration").put("method", "percentile").put("// why", "tails");
        });
        m.put("valid, falsy sections", c -> c.putArray("quantbridge"));
        m.put("layer_strategy missing", c -> c.remove("layer_strategy"));
        m.put("layer_strategy a list", c -> c.putArray("layer_strategy"));
        m.put("entry a string", c -> ((ObjectNode) c.get("layer_strategy")).put("fc/MatMul", "Quant_INT8-8"));
        m.put("entry without quant_strategy", c -> layer(c, 1).remove("quant_strategy"));
        m.put("quant_strategy a number", c -> layer(c, 1).put("quant_strategy", 8));
        m.put("op_type a list", c -> layer(c, 2).putArray("op_type").add("Conv2d"));
        m.put("op_type null", c -> layer(c, 2).putNull("op_type"));
        m.put("strategy INT4", c -> layer(c, 0).put("quant_strategy", "Quant_INT4-4"));
        m.put("hint a string", c -> c.put("quant_strategy_for op '<class 'torch.nn.modules.conv.Conv2d'>'", "x"));
        m.put("hint a list of numbers", c -> c.putArray("quant_strategy_for op 'Anything'").add(8));
        m.put("input_shape a number", c -> c.put("input_shape", 5));
        m.put("input_shape null", c -> c.putNull("input_shape"));
        m.put("input_shape malformed", c -> c.put("input_shape", "x:1,a,8,8"));
        m.put("input_shape zero", c -> c.put("input_shape", "x:1,0,8,8"));
        m.put("input_shape twice", c -> c.put("input_shape", "x:1,1,8,8;x:1"));
        m.put("input_shape too large", c -> c.put("input_shape", "x:1,99999999999999999999"));
        m.put("quantbridge a string", c -> c.put("quantbridge", "x"));
        m.put("quantbridge unknown keys", c -> section(c, "quantbridge").put("calib", 1).put("zz", 2));
        m.put("integer_kernels a number", c -> section(c, "quantbridge").put("integer_kernels", 1));
        m.put("reduce_range a string", c -> section(c, "quantbridge").put("reduce_range", "yes"));
        m.put("integer_kernels true", c -> section(c, "quantbridge").put("integer_kernels", true));
        m.put("onnx_weight_type int4", c -> section(c, "quantbridge").put("onnx_weight_type", "int4"));
        m.put("onnx_weight_type a number", c -> section(c, "quantbridge").put("onnx_weight_type", 8));
        m.put("valid, onnx_weight_type int8", c -> section(c, "quantbridge").put("onnx_weight_type", "int8"));
        m.put("calibration a number", c -> section(c, "quantbridge").put("calibration", 5));
        m.put("calibration unknown key", c -> section(c, "quantbridge", "calibration").put("bin", 8));
        m.put("method kl", c -> section(c, "quantbridge", "calibration").put("method", "kl"));
        m.put("method a number", c -> section(c, "quantbridge", "calibration").put("method", 3));
        m.put("percentile 40", c -> section(c, "quantbridge", "calibration").put("percentile", 40));
        m.put("percentile a string", c -> section(c, "quantbridge", "calibration").put("percentile", "high"));
        m.put("percentile true", c -> section(c, "quantbridge", "calibration").put("percentile", true));
        m.put("bins 8", c -> section(c, "quantbridge", "calibration").put("bins", 8));
        m.put("bins 64.0", c -> section(c, "quantbridge", "calibration").put("bins", 64.0));
        m.put("bins 2^40", c -> section(c, "quantbridge", "calibration").put("bins", 1L << 40));
        m.put("bad flag and bad calibration", c -> {
            section(c, "quantbridge").put("reduce_range", 0.5);
            section(c, "quantbridge", "calibration").put("method", "kl");
        });
        // what depends on the model: the shim's rule on both paths
        m.put("layer the model lacks", c -> ((ObjectNode) c.get("layer_strategy")).set("conv9/Conv2D",
                layer(c, 0).deepCopy()));
        m.put("op_type of another layer", c -> layer(c, 3).put("op_type", "<class 'torch.nn.modules.conv.Conv2d'>"));
        m.put("INT4 without op_type", c -> {
            layer(c, 3).remove("op_type");
            layer(c, 3).put("quant_strategy", "Quant_INT4-4");
        });
        m.put("layer the model lacks and bad calibration", c -> {
            ((ObjectNode) c.get("layer_strategy")).set("conv9/Conv2D", layer(c, 0).deepCopy());
            section(c, "quantbridge", "calibration").put("bins", 3);
        });
        return m;
    }

    private static String javaVerdict(Path file) throws QuantBridgeException {
        try {
            QuantConfig cfg = QuantConfig.read(file);
            cfg.validate();
            q.resolve(model, cfg);
            return "OK";
        } catch (ConfigException e) {
            return e.getMessage();
        }
    }

    private static String pythonVerdict(Path file) throws QuantBridgeException {
        try (PyHandle copy = (PyHandle) rt.call("quantbridge._java_support:deepcopy", model)) {
            Object qm = rt.call("quantbridge.torch:optimize_model", copy, file.toString());
            if (qm instanceof PyHandle h) {
                h.close();
            }
            return "OK";
        } catch (PythonException e) {
            assertTrue(e.isType("ConfigError"), "plain Python raised " + e.getMessage());
            return e.pythonMessage();
        }
    }

    @Test
    void javaAndPlainPythonGiveTheSameVerdicts() throws Exception {
        int rejected = 0;
        for (Map.Entry<String, Consumer<ObjectNode>> e : corpus().entrySet()) {
            ObjectNode c = (ObjectNode) JSON.readTree(template);
            e.getValue().accept(c);
            Path file = tmp.resolve("cfg_" + e.getKey().replaceAll("[^A-Za-z0-9]", "_") + ".json");
            Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c), StandardCharsets.UTF_8);
            String java = javaVerdict(file);
            String python = pythonVerdict(file);
            System.out.printf("config parity: %-45s %s%n", e.getKey(), java);
            assertEquals(python, java, e.getKey());
            if (e.getKey().startsWith("valid")) {
                assertEquals("OK", java, e.getKey());
            } else if (!e.getKey().equals("integer_kernels true")) {
                rejected++;
                assertTrue(!java.equals("OK"), e.getKey() + " was accepted");
            }
        }
        assertEquals(corpus().size() - 5, rejected);
    }

    @Test
    void aTopLevelArrayIsRejectedAlikeFromAFile() throws Exception {
        Path file = tmp.resolve("cfg_array.json");
        Files.writeString(file, "[1, 2]\n", StandardCharsets.UTF_8);
        String java = javaVerdict(file);
        assertEquals(pythonVerdict(file), java);
        assertEquals(file + ": expected a JSON object at the top level, got list", java);
    }

    @Test
    void theShimsModelMessagesReachJavaUnchanged() throws Exception {
        ObjectNode c = (ObjectNode) JSON.readTree(template);
        ((ObjectNode) c.get("layer_strategy")).set("conv9/Conv2D", layer(c, 0).deepCopy());
        Path file = tmp.resolve("cfg_conv9.json");
        Files.writeString(file, c.toString(), StandardCharsets.UTF_8);
        List<String> names = new ArrayList<>();
        JsonNode ls = JSON.readTree(template).get("layer_strategy");
        ls.fieldNames().forEachRemaining(names::add);
        String list = names.stream().map(n -> "'" + n + "'").reduce((a, b) -> a + ", " + b).orElse("");
        assertEquals("layer 'conv9/Conv2D' in the config is not a quantizable layer of this model (layers cannot be "
                + "added); the model has " + names.size() + " such layers, e.g. [" + list + "]", javaVerdict(file));
        ObjectNode m = (ObjectNode) JSON.readTree(template);
        layer(m, 3).put("op_type", "<class 'torch.nn.modules.conv.Conv2d'>");
        Files.writeString(file, m.toString(), StandardCharsets.UTF_8);
        assertEquals("layer 'fc/MatMul': op_type is \"<class 'torch.nn.modules.conv.Conv2d'>\" in the config but "
                + "\"<class 'torch.nn.modules.linear.Linear'>\" in the model", javaVerdict(file));
    }
}
