package io.quantbridge.runtime;

/**
 * Receives progress events while a Python call runs. Called on a listener thread while the Python
 * thread waits (it keeps serving other threads' calls meanwhile, so the listener may call Python).
 * Throw {@link StopRequest} to stop the call; any other exception stops it too and becomes the
 * cause of the call's {@link CancelledException}.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Handles one event. */
    void onEvent(ProgressEvent event);

    /** A listener that ignores everything. */
    ProgressListener NONE = e -> { };
}
