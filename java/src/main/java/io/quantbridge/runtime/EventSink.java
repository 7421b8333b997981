package io.quantbridge.runtime;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Java object Python calls back with JSON events. Public only because JEP calls it
 * reflectively; not part of the API.
 */
public final class EventSink {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ProgressListener listener;

    EventSink(ProgressListener listener) {
        this.listener = listener;
    }

    /** Called from Python with one event as JSON. */
    public void onEvent(String json) {
        try {
            Map<String, Object> m = JSON.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() { });
            String phase = String.valueOf(m.remove("phase"));
            long current = ((Number) m.remove("current")).longValue();
            Object t = m.remove("total");
            long total = t instanceof Number n ? n.longValue() : -1;
            m.remove("time");
            listener.onEvent(new ProgressEvent(phase, current, total, Map.copyOf(m)));
        } catch (Exception e) {
            // A broken listener must not break the Python call it observes.
            System.err.println("quantbridge: progress listener failed: " + e);
        }
    }
}
