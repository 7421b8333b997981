package io.quantbridge.runtime;

import java.util.Map;

/**
 * One progress report from Python: {@code phase} reached {@code current} of {@code total}.
 *
 * @param phase what is running ("calibrate", "train", "export", ...)
 * @param current steps done so far
 * @param total steps expected, or -1 if unknown
 * @param metrics extra numbers or strings reported with the step (loss, accuracy, epoch, ...)
 */
public record ProgressEvent(String phase, long current, long total, Map<String, Object> metrics) {
    /** The metric {@code name} as a number, or NaN if absent or not numeric. */
    public double metric(String name) {
        Object v = metrics.get(name);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
