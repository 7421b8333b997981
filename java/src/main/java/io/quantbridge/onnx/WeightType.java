package io.quantbridge.onnx;

import io.quantbridge.config.QuantConfig;
import io.quantbridge.json.PythonRepr;

import java.util.Arrays;

/**
 * How the INT8 ONNX stores a quantized weight: the int8 codes as they are, or as uint8 codes
 * plus 128 with zero point 128. Both dequantize to the same float values and ONNX Runtime fuses
 * both into the same integer kernels; they differ in the kernel it picks. With int8 weights it
 * runs u8*s8 kernels, which on x86 CPUs without VNNI sum two products at a time into 16 bits
 * ({@code VPMADDUBSW}) and saturate there when both are large, so the output can differ from the
 * fake-quant model's; with uint8 weights it runs u8*u8 kernels, which never saturate, slower on
 * those CPUs. Set by the config's {@code quantbridge.onnx_weight_type}; uint8 by default.
 */
public enum WeightType {
    /** Signed int8 codes, zero point 0 (ONNX Runtime's u8*s8 kernels: exact on CPUs with VNNI). */
    INT8("int8"),
    /** The int8 codes plus 128 as uint8, zero point 128 (u8*u8 kernels: exact on every CPU; the default). */
    UINT8("uint8");

    /** The default, the config's ({@code quantbridge.onnx_weight_type} in {@code config_rules.json}). */
    public static final WeightType DEFAULT = of(QuantConfig.defaultOnnxWeightType());

    private final String configValue;

    WeightType(String configValue) {
        this.configValue = configValue;
    }

    /** The config value: {@code "int8"} or {@code "uint8"}. */
    public String configValue() {
        return configValue;
    }

    /**
     * The weight type for a config value.
     *
     * @throws IllegalArgumentException if it is neither {@code "int8"} nor {@code "uint8"}
     */
    public static WeightType of(String configValue) {
        for (WeightType t : values()) {
            if (t.configValue.equals(configValue)) {
                return t;
            }
        }
        throw new IllegalArgumentException("ONNX weight type " + PythonRepr.of(configValue) + "; expected one of "
                + PythonRepr.of(Arrays.stream(values()).map(WeightType::configValue).toList()));
    }
}
