package io.quantbridge.runtime;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The Java object Python calls back with JSON events. Public only because JEP calls it
 * reflectively; not part of the API.
 *
 * <p>Every event is a chance to stop: {@link #onEvent} answers a non-empty reason when the call
 * was asked to stop (interrupt, cancel) or its listener threw; Python then raises
 * {@code Cancelled} and the user's loop unwinds. The listener runs on a listener thread while the
 * Python thread serves other threads' calls, so a listener may call Python without deadlock.
 */
public final class EventSink {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ExecutorService LISTENERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "quantbridge-progress-listener");
        t.setDaemon(true);
        return t;
    });
    private final ProgressListener listener;
    private final OwnerThread owner;

    EventSink(ProgressListener listener, OwnerThread owner) {
        this.listener = listener;
        this.owner = owner;
    }

    /**
     * Called from Python with one event as JSON.
     *
     * @return null to go on, or the reason to stop the call
     */
    public String onEvent(String json) {
        String stop = owner.stopReason();
        if (stop != null || listener == null) {
            return stop;
        }
        ProgressEvent event;
        try {
            Map<String, Object> m = JSON.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() { });
            String phase = String.valueOf(m.remove("phase"));
            long current = ((Number) m.remove("current")).longValue();
            Object t = m.remove("total");
            long total = t instanceof Number n ? n.longValue() : -1;
            m.remove("time");
            event = new ProgressEvent(phase, current, total, Map.copyOf(m));
        } catch (Exception e) {
            throw new IllegalStateException("malformed progress event from Python: " + json, e);
        }
        Future<?> done = LISTENERS.submit(() -> listener.onEvent(event));
        owner.serveUntil(done);
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while the progress listener ran";
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof StopRequest s) {
                return "the progress listener asked to stop: " + s.getMessage();
            }
            OwnerThread.Call<?> call = owner.current();
            if (call != null) {
                call.listenerFailure = cause;
            }
            return "the progress listener threw " + cause;
        }
        return owner.stopReason();
    }
}
