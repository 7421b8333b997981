package io.quantbridge.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.ProgressEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's parts that need no Python: the spec's checks, the rank environment, results, events. */
class DistributedPartsTest {
    @TempDir
    Path dir;

    @Test
    void launchSpecRefusesValuesOutOfRangeNamingTheOption() {
        assertEquals(4, new LaunchSpec(2, 2, 1, "10.0.0.1", 29500, 60).worldSize());
        assertEquals("--node-rank must be in [0, 1] for --nnodes 2, got 2",
                assertThrows(IllegalArgumentException.class, () -> new LaunchSpec(1, 2, 2, "h", 1, 60)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LaunchSpec(0, 1, 0, "h", 0, 60))
                .getMessage().startsWith("--nproc-per-node must be at least 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LaunchSpec(1, 2, 0, "h", 0, 60))
                .getMessage().contains("works on one node only"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LaunchSpec(1, 1, 0, "h", 70000, 60))
                .getMessage().startsWith("--master-port must be in [1, 65535]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LaunchSpec(1, 1, 0, " ", 0, 60))
                .getMessage().startsWith("--master-addr"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LaunchSpec(1, 1, 0, "h", 0, 0))
                .getMessage().startsWith("--dist-timeout"));
    }

    @Test
    void rankEnvironmentNeedsTheJobDirectoryAndTheRank() {
        assertEquals(Optional.empty(), RankEnv.from(Map.of("RANK", "1")));
        assertEquals(Optional.empty(), RankEnv.from(Map.of(RankEnv.DIR_VARIABLE, "/tmp/x")));
        RankEnv env = RankEnv.from(Map.of(RankEnv.DIR_VARIABLE, "/tmp/x", "RANK", "3", "WORLD_SIZE", "4",
                "LOCAL_RANK", "1")).orElseThrow();
        assertEquals(new RankEnv(3, 4, 1, Path.of("/tmp/x")), env);
        assertEquals(Path.of("/tmp/x/rank-3.json"), env.resultFile());
        assertTrue(!env.writes() && new RankEnv(0, 4, 0, Path.of("/tmp/x")).writes());
    }

    @Test
    void rankResultsRoundTripAndGiveTheirErrorLine() throws Exception {
        Path f = dir.resolve("rank-1.json");
        new RankResult(1, 3, "out\n", "error: ValueError: bad shard (run with --verbose)\ntrace\n", 42L).write(f);
        RankResult r = RankResult.read(f).orElseThrow();
        assertEquals(new RankResult(1, 3, "out\n", "error: ValueError: bad shard (run with --verbose)\ntrace\n", 42L), r);
        assertEquals("ValueError: bad shard (run with --verbose)", r.errorLine());
        assertEquals("exited with code 137", new RankResult(0, 137, "", "", 1L).errorLine());
        assertEquals(Optional.empty(), RankResult.read(dir.resolve("absent.json")));
        Files.writeString(dir.resolve("torn.json"), "{\"rank\": 1, \"ex");
        assertEquals(Optional.empty(), RankResult.read(dir.resolve("torn.json")));
    }

    @Test
    void eventsWrittenByRankZeroReachTheListenerInOrder() throws Exception {
        Path file = RankEnv.eventsFile(dir);
        List<ProgressEvent> seen = new CopyOnWriteArrayList<>();
        try (EventTail tail = new EventTail(file, seen::add); EventWriter writer = new EventWriter(file)) {
            for (int i = 1; i <= 5; i++) {
                writer.onEvent(new ProgressEvent("calibrate", i, 5, Map.of("loss", 0.5 * i, "note", "x")));
            }
            writer.onEvent(new ProgressEvent("train", 1, -1, Map.of()));
        }
        assertEquals(6, seen.size());
        assertEquals(new ProgressEvent("calibrate", 3, 5, Map.of("loss", 1.5, "note", "x")), seen.get(2));
        assertEquals(-1, seen.get(5).total());
    }
}
