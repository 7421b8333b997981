package io.quantbridge.project;

import io.quantbridge.QuantBridgeException;
import java.util.Map;

/** The number an {@code --eval} function returned. */
final class Accuracy {
    private Accuracy() {
    }

    /**
     * A number, or a dict's {@code accuracy} entry.
     *
     * @throws QuantBridgeException if it is neither, or not finite
     */
    static double of(Object value, String evalFunction) throws QuantBridgeException {
        Number n = value instanceof Number v ? v
                : value instanceof Map<?, ?> m && m.get("accuracy") instanceof Number v ? v : null;
        if (n != null) {
            double d = n.doubleValue();
            if (!Double.isFinite(d)) {
                throw new QuantBridgeException("--eval " + evalFunction + " returned " + d + "; expected a finite "
                        + "number (the accuracy)");
            }
            return d;
        }
        throw new QuantBridgeException("--eval " + evalFunction + " returned "
                + (value == null ? "None" : value.getClass().getSimpleName() + " " + value)
                + "; expected a number (the accuracy) or a dict with an 'accuracy' entry");
    }
}
