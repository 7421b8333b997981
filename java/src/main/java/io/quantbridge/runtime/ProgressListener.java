package io.quantbridge.runtime;

/** Receives progress events while a Python call runs. Called on the Python owner thread: return quickly. */
@FunctionalInterface
public interface ProgressListener {
    /** Handles one event. */
    void onEvent(ProgressEvent event);

    /** A listener that ignores everything. */
    ProgressListener NONE = e -> { };
}
