package io.quantbridge.dist;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.ProgressListener;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Rank 0's progress listener: appends each event as one JSON line to the job's events file,
 * where {@link EventTail} in the launching process reads it. Writing errors end the reporting,
 * not the job.
 */
final class EventWriter implements ProgressListener, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private OutputStream out;

    EventWriter(Path file) throws IOException {
        out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public synchronized void onEvent(ProgressEvent event) {
        if (out == null) {
            return;
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("phase", event.phase());
        line.put("current", event.current());
        line.put("total", event.total());
        line.put("metrics", event.metrics());
        try {
            out.write((JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            close();
        }
    }

    @Override
    public synchronized void close() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // the events are a convenience; the job's result does not depend on them
            }
            out = null;
        }
    }
}
