package io.quantbridge.report;

import java.util.List;

/**
 * Weight statistics of one layer: its range and the symmetric per-output-channel int8 scales
 * ({@code max|w[c]| / 127}; listed for float layers too, as they would be). Numbers are null
 * where the shim had none (an empty weight).
 *
 * @param shape the weight's shape in the framework's layout
 * @param axis the output-channel axis
 * @param channels the number of per-channel scales
 * @param min smallest weight
 * @param max largest weight
 * @param absmax largest |weight|
 * @param scaleMin smallest per-channel scale
 * @param scaleMedian median per-channel scale
 * @param scaleMax largest per-channel scale
 * @param clippedFraction share of weights whose quantized value saturates (0 for absmax scales)
 * @param sqnrDb SQNR of the fake-quant weight against the float weight, dB (may be infinite)
 */
public record WeightStats(List<Long> shape, int axis, int channels, Double min, Double max, Double absmax,
                          Double scaleMin, Double scaleMedian, Double scaleMax, Double clippedFraction,
                          Double sqnrDb) {
    /** Copies the shape. */
    public WeightStats {
        shape = shape == null ? List.of() : List.copyOf(shape);
    }

    static WeightStats from(StatsMap m) {
        if (m == null) {
            return null;
        }
        return new WeightStats(m.integers("shape"), (int) m.integer("axis", 0), (int) m.integer("channels", 0),
                m.number("min"), m.number("max"), m.number("absmax"), m.number("scale_min"),
                m.number("scale_median"), m.number("scale_max"), m.number("clipped_fraction"), m.number("sqnr_db"));
    }
}
