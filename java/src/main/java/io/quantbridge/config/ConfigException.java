package io.quantbridge.config;

import io.quantbridge.QuantBridgeException;

/** The quantization config is malformed or does not fit the model (mirrors the shim's {@code ConfigError}). */
public class ConfigException extends QuantBridgeException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception whose message names the layer or key, what was expected and what arrived. */
    public ConfigException(String message) {
        super(message);
    }

    /** Creates an exception that keeps its cause (an I/O or JSON parse error). */
    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
