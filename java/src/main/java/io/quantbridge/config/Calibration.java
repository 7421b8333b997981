package io.quantbridge.config;

import io.quantbridge.json.PythonRepr;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The calibration settings of the config's optional {@code quantbridge.calibration} section (its
 * methods, ranges and defaults are those of the shim's {@code config_rules.json}).
 *
 * @param method {@code "minmax"}, {@code "percentile"} or {@code "mse"}
 * @param percentile the share of values kept by {@code percentile}, in (50, 100]
 * @param bins histogram bins for {@code percentile} and {@code mse}, at least 16
 */
public record Calibration(String method, double percentile, int bins) {
    private static final JsonNode METHOD = rule("method");
    private static final JsonNode PERCENTILE = rule("percentile");
    private static final JsonNode BINS = rule("bins");
    /** The accepted methods, in the shim's order ({@code config_rules.json}). */
    public static final List<String> METHODS = methods();
    /** The defaults: minmax, 99.99, 2048 ({@code config_rules.json}, as the shim's {@code DEFAULT_EXTRA}). */
    public static final Calibration DEFAULT = new Calibration(METHOD.get("default").textValue(),
            PERCENTILE.get("default").doubleValue(), BINS.get("default").intValue());

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException if a value is out of its range
     */
    public Calibration {
        Objects.requireNonNull(method, "method");
        if (!METHODS.contains(method)) {
            throw new IllegalArgumentException("calibration method " + PythonRepr.of(method)
                    + "; expected one of " + PythonRepr.of(METHODS));
        }
        if (!(percentile > PERCENTILE.get("above").doubleValue() && percentile <= PERCENTILE.get("at_most").doubleValue())) {
            throw new IllegalArgumentException("calibration percentile " + percentile
                    + "; expected a number in (50, 100]");
        }
        if (bins < BINS.get("at_least").intValue()) {
            throw new IllegalArgumentException("calibration bins " + bins + "; expected an integer >= 16");
        }
    }

    private static JsonNode rule(String key) {
        return ConfigRules.node("validate", ConfigRules.EXTRA_KEY, ConfigRules.CALIBRATION, key);
    }

    private static List<String> methods() {
        List<String> out = new ArrayList<>();
        METHOD.get("enum").forEach(m -> out.add(m.textValue()));
        return List.copyOf(out);
    }
}
