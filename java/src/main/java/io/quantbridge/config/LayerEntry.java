package io.quantbridge.config;

import java.util.Objects;

/**
 * One entry of the config's {@code layer_strategy}.
 *
 * @param name the layer name (the key)
 * @param opType the entry's {@code op_type}, or null where the entry has none
 * @param strategy the entry's {@code quant_strategy}
 */
public record LayerEntry(String name, String opType, String strategy) {
    /** Checks that name and strategy are present. */
    public LayerEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(strategy, "strategy");
    }

    /** True unless the strategy is {@code "float"}. */
    public boolean isQuantized() {
        return !Strategies.FLOAT.equals(strategy);
    }
}
