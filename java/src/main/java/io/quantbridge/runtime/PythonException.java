package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;

/** A Python exception raised inside the embedded interpreter, with its type and traceback. */
public class PythonException extends QuantBridgeException {
    private static final long serialVersionUID = 1L;
    private final String pythonType;
    private final String pythonMessage;
    private final String pythonTraceback;

    /**
     * @param pythonType qualified Python type, e.g. {@code quantbridge.errors.ConfigError}
     * @param pythonMessage {@code str(exception)}
     * @param pythonTraceback the formatted traceback, may be empty
     * @param cause the JEP exception, may be null
     */
    public PythonException(String pythonType, String pythonMessage, String pythonTraceback, Throwable cause) {
        super(pythonType + ": " + pythonMessage, cause);
        this.pythonType = pythonType;
        this.pythonMessage = pythonMessage;
        this.pythonTraceback = pythonTraceback == null ? "" : pythonTraceback;
    }

    /** The qualified Python type name ({@code ValueError}, {@code quantbridge.errors.ConfigError}, ...). */
    public String pythonType() {
        return pythonType;
    }

    /** The Python message alone, without the type. */
    public String pythonMessage() {
        return pythonMessage;
    }

    /** The formatted Python traceback. */
    public String pythonTraceback() {
        return pythonTraceback;
    }

    /** True if the Python type's simple name is {@code simpleName} (e.g. {@code "ConfigError"}). */
    public boolean isType(String simpleName) {
        return pythonType.equals(simpleName) || pythonType.endsWith("." + simpleName);
    }
}
