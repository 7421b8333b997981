package io.quantbridge.config;

import io.quantbridge.json.PythonRepr;
import java.util.List;
import java.util.Objects;

/**
 * The calibration settings of the config's optional {@code quantbridge.calibration} section.
 *
 * @param method {@code "minmax"}, {@code "percentile"} or {@code "mse"}
 * @param percentile the share of values kept by {@code percentile}, in (50, 100]
 * @param bins histogram bins for {@code percentile} and {@code mse}, at least 16
 */
public record Calibration(String method, double percentile, int bins) {
    /** The accepted methods, in the shim's order. */
    public static final List<String> METHODS = List.of("minmax", "percentile", "mse");
    /** The defaults: minmax, 99.99, 2048 (the shim's {@code DEFAULT_EXTRA}). */
    public static final Calibration DEFAULT = new Calibration("minmax", 99.99, 2048);

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
        if (!(percentile > 50.0 && percentile <= 100.0)) {
            throw new IllegalArgumentException("calibration percentile " + percentile
                    + "; expected a number in (50, 100]");
        }
        if (bins < 16) {
            throw new IllegalArgumentException("calibration bins " + bins + "; expected an integer >= 16");
        }
    }
}
