package io.quantbridge.runtime;

import java.lang.ref.Cleaner;

/**
 * A Python object that stays in the interpreter (a model, a session, a data loader).
 * Pass it back as an argument to any {@link PythonRuntime} call; close it to let Python free it.
 * A handle that becomes unreachable without being closed is released too (through a
 * {@link Cleaner}), before the runtime's next call.
 */
public final class PyHandle implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "quantbridge-handle-cleaner");
        t.setDaemon(true);
        return t;
    });
    private final long id;
    private final String pythonType;
    private final String repr;
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    PyHandle(PythonRuntime runtime, long id, String pythonType, String repr) {
        this.id = id;
        this.pythonType = pythonType;
        this.repr = repr;
        // The action holds the id and the engine, never this handle: it runs once, on close or after collection.
        this.cleanable = CLEANER.register(this, runtime.releaser(id));
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

    /** Releases the Python object (before the runtime's next call); safe to call twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "PyHandle[" + id + ", " + pythonType + ", " + repr + "]";
    }
}
