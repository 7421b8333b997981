package io.quantbridge.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Validation before Python sees the config. Expected messages are the shim's own
 * ({@code config.validate} / {@code extra_settings}), captured from Python 3.10.
 */
class QuantConfigValidationTest {
    private static final String C = Strategies.TORCH_CONV2D;
    private static final String L = Strategies.TORCH_LINEAR;
    private static final List<LayerInfo> MODEL = List.of(new LayerInfo("conv1", C), new LayerInfo("fc/MatMul", L));

    private static QuantConfig cfg(String layers, String extra) throws ConfigException {
        return QuantConfig.parse("{\"layer_strategy\": {" + layers + "}" + (extra == null ? "" : ", " + extra) + "}");
    }

    private static String entry(String name, String op, String strategy) {
        return "\"" + name + "\": {\"op_type\": \"" + op + "\", \"quant_strategy\": \"" + strategy + "\"}";
    }

    private static String against(QuantConfig cfg) {
        return assertThrows(ConfigException.class, () -> cfg.validateAgainst(MODEL)).getMessage();
    }

    @Test
    void layerTheModelLacks() throws Exception {
        assertEquals("layer 'conv9' in the config is not a quantizable layer of this model (layers cannot be added); "
                + "the model has 2 such layers, e.g. ['conv1', 'fc/MatMul']", against(cfg(entry("conv9", C, "float"), null)));
    }

    @Test
    void opTypeMismatch() throws Exception {
        assertEquals("layer 'conv1': op_type is \"<class 'torch.nn.modules.linear.Linear'>\" in the config but "
                + "\"<class 'torch.nn.modules.conv.Conv2d'>\" in the model", against(cfg(entry("conv1", L, "float"), null)));
    }

    @Test
    void unsupportedStrategy() throws Exception {
        QuantConfig c = cfg(entry("fc/MatMul", L, "Quant_INT4"), null);
        String expected = "layer 'fc/MatMul' (<class 'torch.nn.modules.linear.Linear'>): quant_strategy 'Quant_INT4' "
                + "is not supported for this op type; expected one of ['float', 'Quant_INT8-8']";
        assertEquals(expected, against(c));
        assertEquals(expected, assertThrows(ConfigException.class, c::validate).getMessage());
    }

    @Test
    void resultInModelOrderWithOmittedLayersAtFloat() throws Exception {
        QuantConfig c = QuantConfig.parse("{\"layer_strategy\": {\"conv1\": {\"quant_strategy\": \"Quant_INT8-8\"}, "
                + "\"//x\": 1}}");
        assertEquals(Map.of("conv1", "Quant_INT8-8", "fc/MatMul", "float"), c.validateAgainst(MODEL));
        assertEquals(List.of("conv1", "fc/MatMul"), List.copyOf(c.validateAgainst(MODEL).keySet()));
    }

    @Test
    void extraSection() throws Exception {
        String[][] cases = {
            {"{\"calibration\": {\"method\": \"kl\"}}",
                "'quantbridge.calibration.method' is 'kl'; expected one of ['minmax', 'percentile', 'mse']"},
            {"{\"calibration\": {\"percentile\": 40}}",
                "'quantbridge.calibration.percentile' is 40; expected a number in (50, 100]"},
            {"{\"calibration\": {\"percentile\": \"high\"}}",
                "'quantbridge.calibration.percentile' is 'high'; expected a number in (50, 100]"},
            {"{\"calibration\": {\"bins\": 8}}", "'quantbridge.calibration.bins' is 8; expected an integer >= 16"},
            {"{\"calibration\": {\"bins\": 64.0}}", "'quantbridge.calibration.bins' is 64.0; expected an integer >= 16"},
            {"{\"calibration\": {\"bin\": 8}}",
                "unknown key 'bin' in 'quantbridge.calibration'; expected one of ['bins', 'method', 'percentile']"},
            {"{\"calib\": {}}", "unknown key(s) ['calib'] in 'quantbridge'; expected one of ['calibration', 'integer_kernels', 'reduce_range']"},
            {"{\"calibration\": 5}", "'quantbridge.calibration' must be an object"},
            {"\"x\"", "'quantbridge' must be an object, got str"},
        };
        for (String[] c : cases) {
            QuantConfig q = cfg("", "\"quantbridge\": " + c[0]);
            assertEquals(c[1], assertThrows(ConfigException.class, q::validate).getMessage(), c[0]);
            assertEquals(c[1], assertThrows(ConfigException.class, () -> q.validateAgainst(MODEL)).getMessage());
        }
        assertEquals(Calibration.DEFAULT, cfg("", "\"quantbridge\": []").calibration());
        assertEquals(new Calibration("percentile", 100, 16),
                cfg("", "\"quantbridge\": {\"calibration\": {\"method\": \"percentile\", \"percentile\": 100, "
                        + "\"bins\": 16, \"// why\": \"tails\"}}").calibration());
    }

    @Test
    void inputShapeAndHints() throws Exception {
        assertEquals("input_shape part 'x:1,a' of 'x:1,a' is malformed; expected 'name:d1,d2,...' (positive integers, "
                        + "e.g. 'x:1,3,224,224')",
                assertThrows(ConfigException.class, cfg("", "\"input_shape\": \"x:1,a\"")::validate).getMessage());
        assertEquals("input_shape 5 is malformed; expected 'name:d1,d2,...' with inputs separated by ';'",
                assertThrows(ConfigException.class, cfg("", "\"input_shape\": 5")::validate).getMessage());
        assertEquals("\"quant_strategy_for op 'Conv2D'\" is 'Quant_INT8-8'; expected a list of strategy names such as "
                        + "['Quant_INT8-8']",
                assertThrows(ConfigException.class,
                        cfg("", "\"quant_strategy_for op 'Conv2D'\": \"Quant_INT8-8\"")::validate).getMessage());
    }

    @Test
    void nonStringStrategyIsCaughtWhenReading() {
        assertEquals("config: layer_strategy['conv1'].quant_strategy is 8 (int); expected a string such as 'float' or "
                + "'Quant_INT8-8'", assertThrows(ConfigException.class,
                        () -> cfg("\"conv1\": {\"op_type\": \"x\", \"quant_strategy\": 8}", null)).getMessage());
    }

    @Test
    void calibrationRecordRejectsBadValues() {
        assertThrows(IllegalArgumentException.class, () -> new Calibration("kl", 99, 16));
        assertThrows(IllegalArgumentException.class, () -> new Calibration("minmax", 50, 16));
        assertThrows(IllegalArgumentException.class, () -> new Calibration("minmax", 99, 15));
    }
}
