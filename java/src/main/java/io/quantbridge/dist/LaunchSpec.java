package io.quantbridge.dist;

/**
 * Where the ranks of one distributed job run: {@code nprocPerNode} ranks on each of {@code nnodes}
 * machines, this one being {@code nodeRank}; the machine of node 0 listens at
 * {@code masterAddr:masterPort}. Every node starts the job with the same spec but its own node rank.
 *
 * @param nprocPerNode ranks on this node, at least 1
 * @param nnodes nodes in the job, at least 1
 * @param nodeRank this node, {@code 0 <= nodeRank < nnodes}
 * @param masterAddr host of node 0, as every node can reach it
 * @param masterPort its port; 0 picks a free port (one node only)
 * @param timeoutSeconds bound on every collective operation (a rank that waits longer for the others fails)
 */
public record LaunchSpec(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort,
                         int timeoutSeconds) {
    /** The port torch uses when none is given. */
    public static final int DEFAULT_PORT = 29500;

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException naming the option and the value expected
     */
    public LaunchSpec {
        if (nprocPerNode < 1) {
            throw new IllegalArgumentException("--nproc-per-node must be at least 1, got " + nprocPerNode);
        }
        if (nnodes < 1) {
            throw new IllegalArgumentException("--nnodes must be at least 1, got " + nnodes);
        }
        if (nodeRank < 0 || nodeRank >= nnodes) {
            throw new IllegalArgumentException("--node-rank must be in [0, " + (nnodes - 1) + "] for --nnodes " + nnodes
                    + ", got " + nodeRank);
        }
        if (masterAddr == null || masterAddr.isBlank()) {
            throw new IllegalArgumentException("--master-addr must name the host of node 0, got an empty value");
        }
        if (masterPort < 0 || masterPort > 65535) {
            throw new IllegalArgumentException("--master-port must be in [1, 65535], got " + masterPort);
        }
        if (masterPort == 0 && nnodes > 1) {
            throw new IllegalArgumentException("--master-port 0 (a free port) works on one node only; with --nnodes "
                    + nnodes + " pass the same port to every node");
        }
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("--dist-timeout must be at least 1 second, got " + timeoutSeconds);
        }
    }

    /** A job on this machine only: {@code nprocPerNode} ranks, localhost, a free port, a 30-minute timeout. */
    public static LaunchSpec local(int nprocPerNode) {
        return new LaunchSpec(nprocPerNode, 1, 0, "127.0.0.1", 0, 1800);
    }

    /** The number of ranks in the job. */
    public int worldSize() {
        return nprocPerNode * nnodes;
    }
}
