package io.quantbridge.dist;

import java.nio.file.Path;

/**
 * How a distributed job ended on this node.
 *
 * @param exitCode 0 when every rank of this node succeeded; otherwise the failing rank's exit code
 *     (the command line's codes: 2 bad input, 3 an error in Python code, 4 environment)
 * @param failedRank the rank whose error ended the job, or -1
 * @param error that rank's one-line error without the {@code error: } prefix, or null on success
 * @param output what rank 0 printed (its summary lines), empty when rank 0 runs on another node
 * @param details everything the failing rank printed on stderr (its traceback with {@code --verbose})
 * @param log torch's launcher log, kept only when no rank explained the failure; otherwise null
 */
public record DistributedResult(int exitCode, int failedRank, String error, String output, String details, Path log) {
    /** True when every rank of this node succeeded. */
    public boolean ok() {
        return exitCode == 0;
    }
}
