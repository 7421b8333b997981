package io.quantbridge.dist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What one rank leaves in the job directory when its command ends: its exit code, what it
 * printed, and when it ended (the first rank to fail is the one whose error is reported; the
 * others usually fail because it left).
 *
 * @param rank the rank
 * @param exitCode its command's exit code
 * @param out what it printed on stdout
 * @param err what it printed on stderr (its {@code error:} line first)
 * @param endedMillis wall-clock time it ended, in milliseconds since the epoch
 */
record RankResult(int rank, int exitCode, String out, String err, long endedMillis) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The first {@code error: } line of {@code err} without the prefix, or a generic one. */
    String errorLine() {
        return err.lines().filter(l -> l.startsWith("error: ")).findFirst().map(l -> l.substring(7))
                .orElse("exited with code " + exitCode + (err.isBlank() ? "" : ": " + err.lines().findFirst().orElse("")));
    }

    void write(Path file) throws IOException, QuantBridgeException {
        ObjectNode n = JSON.createObjectNode().put("rank", rank).put("exit", exitCode).put("out", out).put("err", err)
                .put("ended_ms", endedMillis);
        AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n).getBytes(StandardCharsets.UTF_8),
                true);
    }

    static Optional<RankResult> read(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            return Optional.of(new RankResult(n.path("rank").asInt(), n.path("exit").asInt(), n.path("out").asText(),
                    n.path("err").asText(), n.path("ended_ms").asLong()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
