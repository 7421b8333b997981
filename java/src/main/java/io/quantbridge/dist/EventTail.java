package io.quantbridge.dist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.ProgressListener;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Follows the events file that rank 0's {@link EventWriter} appends to and hands every complete
 * line to a listener, on its own daemon thread until {@link #close()} (which reads what is left).
 */
final class EventTail implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final ProgressListener listener;
    private final Thread thread;
    private final StringBuilder partial = new StringBuilder();
    private long offset;
    private volatile boolean running = true;

    EventTail(Path file, ProgressListener listener) {
        this.file = file;
        this.listener = listener;
        this.thread = new Thread(this::loop, "quantbridge-dist-events");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void loop() {
        while (running) {
            poll();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private synchronized void poll() {
        if (!Files.isRegularFile(file)) {
            return;
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            if (length <= offset) {
                return;
            }
            byte[] bytes = new byte[(int) (length - offset)];
            raf.seek(offset);
            raf.readFully(bytes);
            offset = length;
            partial.append(new String(bytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return;
        }
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
            String line = partial.substring(0, nl);
            partial.delete(0, nl + 1);
            deliver(line);
        }
    }

    private void deliver(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            Map<String, Object> metrics = new LinkedHashMap<>();
            n.path("metrics").fields().forEachRemaining(e -> metrics.put(e.getKey(),
                    e.getValue().isNumber() ? (Object) e.getValue().doubleValue() : e.getValue().asText()));
            listener.onEvent(new ProgressEvent(n.path("phase").asText(), n.path("current").asLong(),
                    n.path("total").asLong(-1), metrics));
        } catch (IOException | RuntimeException e) {
            // a malformed line is skipped: progress is a convenience
        }
    }

    /** Stops following and delivers every complete line written so far. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        poll();
    }
}
