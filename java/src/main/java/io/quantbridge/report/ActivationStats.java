package io.quantbridge.report;

/**
 * Statistics of one layer's input over the analysed batches. For float layers only
 * {@code count}, {@code min} and {@code max} are set; the rest is null.
 *
 * @param count number of input values seen
 * @param min smallest observed input value (null when nothing was seen)
 * @param max largest observed input value
 * @param scale the uint8 scale
 * @param zeroPoint the uint8 zero point
 * @param rangeMin the representable minimum, {@code (0 - zeroPoint) * scale}
 * @param rangeMax the representable maximum, {@code (255 - zeroPoint) * scale}
 * @param clippedFraction share of input values that saturate ({@code round(x / scale) + zeroPoint}
 *     outside [0, 255])
 * @param sqnrDb SQNR of the fake-quant input against the input, dB (may be infinite)
 */
public record ActivationStats(long count, Double min, Double max, Double scale, Integer zeroPoint, Double rangeMin,
                              Double rangeMax, Double clippedFraction, Double sqnrDb) {
    static ActivationStats from(StatsMap m) {
        if (m == null) {
            return null;
        }
        Long zp = m.integer("zero_point");
        return new ActivationStats(m.integer("count", 0), m.number("min"), m.number("max"), m.number("scale"),
                zp == null ? null : Math.toIntExact(zp), m.number("range_min"), m.number("range_max"),
                m.number("clipped_fraction"), m.number("sqnr_db"));
    }
}
