package io.quantbridge.runtime;

/**
 * A Python object that stays in the interpreter (a model, a session, a data loader).
 * Pass it back as an argument to any {@link PythonRuntime} call; close it to let Python free it.
 */
public final class PyHandle implements AutoCloseable {
    private final PythonRuntime runtime;
    private final long id;
    private final String pythonType;
    private final String repr;
    private volatile boolean closed;

    PyHandle(PythonRuntime runtime, long id, String pythonType, String repr) {
        this.runtime = runtime;
        this.id = id;
        this.pythonType = pythonType;
        this.repr = repr;
    }

    /** The registry key of the object in the interpreter. */
    public long id() {
        checkOpen();
        return id;
    }

    /** The qualified Python type, e.g. {@code torch.nn.modules.container.Sequential}. */
    public String pythonType() {
        return pythonType;
    }

    /** True once {@link #close()} ran. */
    public boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("Python handle " + id + " (" + pythonType + ") is closed");
        }
    }

    /** Releases the Python object; safe to call twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        runtime.release(id);
    }

    @Override
    public String toString() {
        return "PyHandle[" + id + ", " + pythonType + ", " + repr + "]";
    }
}
