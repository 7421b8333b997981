package io.quantbridge.config;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.PythonException;

/**
 * Whether a config fits a model (its layer names, op types and supported strategies, PyTorch's input
 * count) is the shim's rule alone; the quantizers ask it once per run through this class, which gives
 * the shim's {@code ConfigError} back as a {@link ConfigException} with the shim's message unchanged.
 */
public final class ConfigFit {
    private ConfigFit() {
    }

    /** A call into the shim that may raise its {@code ConfigError}. */
    @FunctionalInterface
    public interface ShimCall<T> {
        /** Runs the call. */
        T run() throws QuantBridgeException;
    }

    /**
     * Runs {@code call}.
     *
     * @throws ConfigException with the shim's message if the shim says the config does not fit
     * @throws QuantBridgeException for any other failure of the call
     */
    public static <T> T ask(ShimCall<T> call) throws QuantBridgeException {
        try {
            return call.run();
        } catch (PythonException p) {
            if (p.isType("ConfigError")) {
                throw new ConfigException(p.pythonMessage(), p);
            }
            throw p;
        }
    }
}
