package io.quantbridge.sensitivity;

import java.util.Locale;
import java.util.Map;

/**
 * The numbers of one configuration (some layers in float, the other candidates quantized).
 *
 * @param sqnrDb output SQNR against the float model in dB ({@code +Infinity} when identical)
 * @param eval the user's evaluation metric, or null without an evaluation function
 */
public record Measurement(double sqnrDb, Double eval) {
    /** True if the evaluation metric was measured. */
    public boolean hasEval() {
        return eval != null;
    }

    /** {@code 47.31 dB} or {@code 47.31 dB, eval 96.67}. */
    public String format() {
        return formatSqnr(sqnrDb) + (eval == null ? "" : String.format(Locale.ROOT, ", eval %.2f", eval));
    }

    static String formatSqnr(double db) {
        return Double.isInfinite(db) ? "inf dB" : String.format(Locale.ROOT, "%.2f dB", db);
    }

    static Measurement fromMap(Object o, String what) {
        if (!(o instanceof Map<?, ?> m) || !(m.get("sqnr_db") instanceof Number sqnr)) {
            throw new IllegalStateException("sensitivity result: " + what + " should be {sqnr_db, eval}, got " + o);
        }
        Object e = m.get("eval");
        return new Measurement(sqnr.doubleValue(), e instanceof Number n ? n.doubleValue() : null);
    }
}
