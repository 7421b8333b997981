package io.quantbridge.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.json.Json;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reading, editing and writing the vendor config. The fixtures are configs as the vendor's Python
 * tools write them ({@code json.dumps(indent=2)}), with {@code //} keys, non-ASCII text and odd
 * numbers: input Java must read. That Java and the shim write the same template is checked live
 * by the end-to-end {@code TorchQuantizerTest}.
 */
class QuantConfigTest {
    private static final String CONV2D = Strategies.TORCH_CONV2D;

    @Test
    void torchFixtureRoundTrips(@TempDir Path dir) throws Exception {
        Path src = Fixtures.path("config/torch_config.json");
        QuantConfig cfg = QuantConfig.read(src);
        JsonNode original = Json.parse(Files.readString(src, StandardCharsets.UTF_8));
        Path out = cfg.write(dir.resolve("config_gen.json"));
        assertEquals(original, Json.parse(Files.readString(out, StandardCharsets.UTF_8)), "every key and value kept");
        assertEquals(cfg.toJson(), QuantConfig.read(out).toJson(), "Java's own text is stable");
        assertEquals(cfg.toJson(), QuantConfig.fromMap(cfg.toMap()).toJson());
        // the layout of the vendor's files: two spaces, "key": value, one member a line, UTF-8 as it is
        assertTrue(cfg.toJson().startsWith("{\n  \"//\": \"\u751f\u6210"), cfg.toJson());
        assertTrue(cfg.toJson().contains("\n  \"// empty list\": [],\n"), cfg.toJson());
        assertTrue(cfg.toJson().contains("\n      \"//\": {}\n"), cfg.toJson());
    }

    @Test
    void tfFixtureRoundTrips(@TempDir Path dir) throws Exception {
        Path src = Fixtures.path("config/tf_config.json");
        QuantConfig cfg = QuantConfig.read(src);
        assertEquals(Json.parse(Files.readString(src, StandardCharsets.UTF_8)),
                Json.parse(Files.readString(cfg.write(dir.resolve("c.json")), StandardCharsets.UTF_8)));
        assertEquals(Framework.TENSORFLOW, cfg.framework());
        assertEquals(Optional.empty(), cfg.inputShape());
        assertEquals(Calibration.DEFAULT, cfg.calibration());
        cfg.validate();
    }

    @Test
    void nonFiniteNumbersAreWrittenBackAsTheyWereRead() throws Exception {
        String text = Files.readString(Fixtures.path("config/tf_config.json"), StandardCharsets.UTF_8)
                .replaceFirst("\\{", "{\n  \"// odd\": [NaN, Infinity, -Infinity],");
        QuantConfig cfg = QuantConfig.parse(text);
        assertTrue(cfg.toJson().contains("\"// odd\": [\n    NaN,\n    Infinity,\n    -Infinity\n  ],"), cfg.toJson());
        assertEquals(Json.parse(text), Json.parse(cfg.toJson()));
    }

    @Test
    void readsLayersShapeCalibrationAndFramework() throws Exception {
        QuantConfig cfg = QuantConfig.read(Fixtures.path("config/torch_config.json"));
        assertEquals(List.of(new LayerEntry("conv1", CONV2D, "Quant_INT8-8"),
                new LayerEntry("features.0.conv", Strategies.TORCH_CONV1D, "float"),
                new LayerEntry("up.deconv", Strategies.TORCH_CONV_TRANSPOSE2D, "float"),
                new LayerEntry("fc", Strategies.TORCH_LINEAR, "float")), cfg.layers());
        assertEquals(Framework.TORCH, cfg.framework());
        assertEquals("x:1,3,224,224;mask:1,10", cfg.inputShape().orElseThrow().format());
        assertEquals(new Calibration("percentile", 99.99, 2048), cfg.calibration());
        assertTrue(cfg.layer("// disabled").isEmpty());
        assertTrue(cfg.layer("conv1").orElseThrow().isQuantized());
        cfg.validate();
    }

    @Test
    void editsKeepOtherKeysAndOrder() throws Exception {
        QuantConfig cfg = QuantConfig.read(Fixtures.path("config/torch_config.json"));
        String before = cfg.toJson();
        cfg.setStrategy("conv1", "float");
        cfg.setStrategy("fc", "Quant_INT8-8");
        String after = cfg.toJson();
        assertEquals(before.replace("\"quant_strategy\": \"Quant_INT8-8\",\n      \"//\"",
                        "\"quant_strategy\": \"float\",\n      \"//\"")
                .replace("\"op_type\": \"<class 'torch.nn.modules.linear.Linear'>\",\n      \"quant_strategy\": \"float\"",
                        "\"op_type\": \"<class 'torch.nn.modules.linear.Linear'>\",\n      \"quant_strategy\": \"Quant_INT8-8\""),
                after);
        assertEquals(4, cfg.quantizeAll("Quant_INT8-8"));
        assertTrue(cfg.layers().stream().allMatch(LayerEntry::isQuantized));
        assertEquals(1, cfg.quantizeMatching(l -> l.name().startsWith("up."), "float"));
        assertEquals("float", cfg.layer("up.deconv").orElseThrow().strategy());
        cfg.setCalibration("mse", 99.9, 512);
        assertEquals(new Calibration("mse", 99.9, 512), cfg.calibration());
        assertTrue(cfg.toJson().contains("\"method\": \"mse\",\n      \"percentile\": 99.9,\n      \"bins\": 512,\n"
                + "      \"//\": {}\n"), cfg.toJson());
    }

    @Test
    void editErrorsNameTheLayer() throws Exception {
        QuantConfig cfg = QuantConfig.read(Fixtures.path("config/tf_config.json"));
        String before = cfg.toJson();
        var absent = assertThrows(ConfigException.class, () -> cfg.setStrategy("model/nope", "float"));
        assertTrue(absent.getMessage().startsWith("layer 'model/nope' is not in "), absent.getMessage());
        assertTrue(absent.getMessage().contains("layers cannot be added"), absent.getMessage());
        var bad = assertThrows(ConfigException.class, () -> cfg.setStrategy("model/dense/MatMul", "Quant_INT4"));
        assertEquals("layer 'model/dense/MatMul' (MatMul): quant_strategy 'Quant_INT4' is not supported for this "
                + "op type; expected one of ['float', 'Quant_INT8-8']", bad.getMessage());
        var matching = assertThrows(ConfigException.class, () -> cfg.quantizeMatching(l -> true, "Quant_INT4"));
        assertTrue(matching.getMessage().contains("quant_strategy 'Quant_INT4' is not supported"));
        assertEquals(before, cfg.toJson(), "failed edits change nothing");
    }

    @Test
    void templateMatchesTheShimsBuildTemplate() throws Exception {
        List<LayerInfo> layers = List.of(new LayerInfo("conv1", CONV2D), new LayerInfo("features.0.conv",
                Strategies.TORCH_CONV1D), new LayerInfo("up.deconv", Strategies.TORCH_CONV_TRANSPOSE2D),
                new LayerInfo("fc", Strategies.TORCH_LINEAR));
        QuantConfig t = QuantConfig.template(layers, InputShape.parse("x:1,3,224,224;mask:1,10"));
        // build_template(...) as written into the fixture, minus the fixture's extra edits
        QuantConfig fixture = QuantConfig.read(Fixtures.path("config/torch_config.json"));
        Map<String, Object> expected = new LinkedHashMap<>(fixture.toMap());
        expected.remove("//");
        expected.remove("quantbridge");
        expected.remove("// empty list");
        expected.remove("// numbers");
        QuantConfig e = QuantConfig.fromMap(expected);
        e.setStrategy("conv1", "float");
        String text = e.toJson().replaceAll(",\n      \"//\": \"[^\n]*\"", "")
                .replaceAll(",\n    \"// disabled\": \\{\n      \"note\": \\[\\]\n    }", "");
        assertEquals(text, t.toJson());
        t.validate();
    }

    @Test
    void inputShapeIsInsertedBeforeLayerStrategy() throws Exception {
        QuantConfig cfg = QuantConfig.read(Fixtures.path("config/tf_config.json"));
        cfg.setInputShape(InputShape.of("x", 1, 3, 32, 32));
        List<String> keys = List.copyOf(cfg.toMap().keySet());
        assertEquals(keys.indexOf("layer_strategy") - 1, keys.indexOf("input_shape"));
        cfg.setInputShape(null);
        assertEquals(QuantConfig.read(Fixtures.path("config/tf_config.json")).toJson(), cfg.toJson());
    }

    @Test
    void parseErrorsSayWhereAndWhat(@TempDir Path dir) throws Exception {
        assertEquals("config: expected a JSON object at the top level, got list",
                assertThrows(ConfigException.class, () -> QuantConfig.parse("[1]")).getMessage());
        assertEquals("config: missing or malformed 'layer_strategy' (expected an object of layer name -> entry)",
                assertThrows(ConfigException.class, () -> QuantConfig.parse("{\"a\": 1}")).getMessage());
        assertEquals("config: layer_strategy['x'] must be an object with 'op_type' and 'quant_strategy'",
                assertThrows(ConfigException.class,
                        () -> QuantConfig.parse("{\"layer_strategy\": {\"x\": 1}}")).getMessage());
        assertEquals("config: layer_strategy['x'] has no 'quant_strategy' (expected 'float' or a strategy)",
                assertThrows(ConfigException.class, () -> QuantConfig.parse(
                        "{\"layer_strategy\": {\"x\": {\"op_type\": \"Conv2D\"}}}")).getMessage());
        var json = assertThrows(ConfigException.class, () -> QuantConfig.parse("{\"layer_strategy\": {\"x\": {}},}"));
        assertTrue(json.getMessage().startsWith("config is not valid JSON: "), json.getMessage());
        assertTrue(json.getMessage().contains("line 1, column"), json.getMessage());
        Path missing = dir.resolve("none.json");
        assertEquals("config file '" + missing + "' does not exist",
                assertThrows(ConfigException.class, () -> QuantConfig.read(missing)).getMessage());
        Path broken = Files.writeString(dir.resolve("broken.json"), "{\n  \"layer_strategy\": \n");
        var b = assertThrows(ConfigException.class, () -> QuantConfig.read(broken));
        assertTrue(b.getMessage().startsWith("config file '" + broken + "' is not valid JSON"), b.getMessage());
    }

    @Test
    void strategiesPerOpType() {
        for (String op : List.of(CONV2D, Strategies.TORCH_CONV1D, Strategies.TORCH_CONV_TRANSPOSE2D,
                Strategies.TORCH_LINEAR, "Conv2D", "MatMul", "DepthwiseConv2dNative")) {
            assertEquals(List.of("float", "Quant_INT8-8"), Strategies.supported(op), op);
        }
        assertEquals(List.of("float"), Strategies.supported("<class 'torch.nn.modules.activation.ReLU'>"));
        assertEquals(List.of("float"), Strategies.supported(null));
        assertTrue(Strategies.isSupported("Relu", "float"));
        assertEquals("quant_strategy_for op 'MatMul'", Strategies.hintKey("MatMul"));
        assertEquals(Optional.of(CONV2D), Strategies.opTypeOfHintKey(Strategies.hintKey(CONV2D)));
        assertEquals(Optional.empty(), Strategies.opTypeOfHintKey("layer_strategy"));
    }
}
