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
     * @throws QuantBridgeException if it is neither
     */
    static double of(Object value, String evalFunction) throws QuantBridgeException {
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        if (value instanceof Map<?, ?> m && m.get("accuracy") instanceof Number n) {
            return n.doubleValue();
        }
        throw new QuantBridgeException("--eval " + evalFunction + " returned "
                + (value == null ? "None" : value.getClass().getSimpleName() + " " + value)
                + "; expected a number (the accuracy) or a dict with an 'accuracy' entry");
    }
}
