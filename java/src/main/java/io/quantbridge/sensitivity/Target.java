package io.quantbridge.sensitivity;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the mixed-precision config must reach: at most {@code maxDrop} points of the evaluation
 * metric below the float model (needs an evaluation function), or an output SQNR of at least
 * {@code minSqnrDb} against the float model. Exactly one of the two is set.
 *
 * @param maxDrop allowed drop of the evaluation metric (accuracy points, say), or null
 * @param minSqnrDb required output SQNR in dB, or null
 */
public record Target(Double maxDrop, Double minSqnrDb) {
    /**
     * Checks that exactly one bound is given and that it is finite (a drop also not negative).
     *
     * @throws IllegalArgumentException if not
     */
    public Target {
        if ((maxDrop == null) == (minSqnrDb == null)) {
            throw new IllegalArgumentException("a sensitivity target needs exactly one of max drop (accuracy points) "
                    + "or min SQNR (dB), got maxDrop=" + maxDrop + ", minSqnrDb=" + minSqnrDb);
        }
        if (maxDrop != null && (!Double.isFinite(maxDrop) || maxDrop < 0)) {
            throw new IllegalArgumentException("max drop must be a finite number >= 0 (points below float), got "
                    + maxDrop);
        }
        if (minSqnrDb != null && !Double.isFinite(minSqnrDb)) {
            throw new IllegalArgumentException("min SQNR must be a finite number of dB, got " + minSqnrDb);
        }
    }

    /** At most {@code points} below the float model's evaluation metric. */
    public static Target maxDrop(double points) {
        return new Target(points, null);
    }

    /** An output SQNR of at least {@code db} against the float model. */
    public static Target minSqnrDb(double db) {
        return new Target(null, db);
    }

    /** True if the target is about the evaluation metric (an evaluation function is needed). */
    public boolean needsEval() {
        return maxDrop != null;
    }

    /** The shim's form: {@code {"max_drop": x}} or {@code {"min_sqnr_db": x}}. */
    public Map<String, Object> toMap() {
        Map<String, Object> out = new LinkedHashMap<>();
        if (maxDrop != null) {
            out.put("max_drop", maxDrop);
        } else {
            out.put("min_sqnr_db", minSqnrDb);
        }
        return out;
    }

    /** {@code max drop 0.5 points} or {@code min SQNR 30.0 dB}. */
    @Override
    public String toString() {
        return maxDrop != null ? String.format(Locale.ROOT, "max drop %s points", maxDrop)
                : String.format(Locale.ROOT, "min SQNR %s dB", minSqnrDb);
    }
}
