package io.quantbridge.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The structural rules ({@code config_rules.json}) as Java applies them, without Python. Whether a
 * config fits a model is the shim's rule: {@code ConfigParityTest} (tests module) runs those
 * messages live through both paths.
 */
class QuantConfigValidationTest {
    private static final String L = Strategies.TORCH_LINEAR;

    private static QuantConfig cfg(String layers, String extra) throws ConfigException {
        return QuantConfig.parse("{\"layer_strategy\": {" + layers + "}" + (extra == null ? "" : ", " + extra) + "}");
    }

    private static String entry(String name, String op, String strategy) {
        return "\"" + name + "\": {\"op_type\": \"" + op + "\", \"quant_strategy\": \"" + strategy + "\"}";
    }

    @Test
    void unsupportedStrategy() throws Exception {
        QuantConfig c = cfg(entry("fc/MatMul", L, "Quant_INT4"), null);
        String expected = "layer 'fc/MatMul' (<class 'torch.nn.modules.linear.Linear'>): quant_strategy 'Quant_INT4' "
                + "is not supported for this op type; expected one of ['float', 'Quant_INT8-8']";
        assertEquals(expected, assertThrows(ConfigException.class, c::validate).getMessage());
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
            {"{\"calib\": {}}", "unknown key(s) ['calib'] in 'quantbridge'; expected one of ['calibration', 'integer_kernels', 'onnx_weight_type', 'reduce_range']"},
            {"{\"calibration\": 5}", "'quantbridge.calibration' must be an object"},
            {"\"x\"", "'quantbridge' must be an object, got str"},
        };
        for (String[] c : cases) {
            QuantConfig q = cfg("", "\"quantbridge\": " + c[0]);
            assertEquals(c[1], assertThrows(ConfigException.class, q::validate).getMessage(), c[0]);
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
