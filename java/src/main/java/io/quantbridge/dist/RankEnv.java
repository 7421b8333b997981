package io.quantbridge.dist;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * What a rank started by {@link DistributedLauncher} finds in its environment: torch's launcher
 * sets {@code RANK}, {@code WORLD_SIZE} and {@code LOCAL_RANK}; the launcher adds
 * {@code QUANTBRIDGE_DIST_DIR}, the node-local directory for the ranks' results and rank 0's
 * progress events.
 *
 * @param rank this process's rank
 * @param worldSize ranks in the job
 * @param localRank rank on this node
 * @param jobDir the job directory on this node
 */
public record RankEnv(int rank, int worldSize, int localRank, Path jobDir) {
    /** The variable naming the job directory. */
    public static final String DIR_VARIABLE = "QUANTBRIDGE_DIST_DIR";

    /** This process's rank, or empty when it is not a rank of a QuantBridge job. */
    public static Optional<RankEnv> current() {
        return from(System.getenv());
    }

    /** The rank described by {@code env}, or empty when it lacks the job directory or the rank. */
    static Optional<RankEnv> from(Map<String, String> env) {
        String dir = env.get(DIR_VARIABLE);
        String rank = env.get("RANK");
        if (dir == null || dir.isBlank() || rank == null || rank.isBlank()) {
            return Optional.empty();
        }
        return Optional.of(new RankEnv(Integer.parseInt(rank), Integer.parseInt(env.getOrDefault("WORLD_SIZE", "1")),
                Integer.parseInt(env.getOrDefault("LOCAL_RANK", "0")), Path.of(dir)));
    }

    /** True on rank 0, the one rank that writes outputs and reports progress. */
    public boolean writes() {
        return rank == 0;
    }

    /** The file where this rank leaves its result. */
    public Path resultFile() {
        return resultFile(jobDir, rank);
    }

    static Path resultFile(Path jobDir, int rank) {
        return jobDir.resolve("rank-" + rank + ".json");
    }

    static Path eventsFile(Path jobDir) {
        return jobDir.resolve("events.jsonl");
    }
}
