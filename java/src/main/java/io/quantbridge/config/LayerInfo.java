package io.quantbridge.config;

import java.util.Objects;

/**
 * A quantizable layer as the model has it (reported by the shim; the shim also checks a config's
 * fit to these layers).
 *
 * @param name the layer name as the config uses it
 * @param opType the layer's op type
 */
public record LayerInfo(String name, String opType) {
    /** Checks that both parts are present. */
    public LayerInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(opType, "opType");
    }
}
