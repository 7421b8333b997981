package io.quantbridge.cli;

import io.quantbridge.config.Framework;
import io.quantbridge.dist.DistributedLauncher;
import io.quantbridge.dist.DistributedResult;
import io.quantbridge.dist.LaunchSpec;
import io.quantbridge.dist.Ranks;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * {@code --nproc-per-node N [--nnodes M --node-rank R --master-addr HOST --master-port P]}: run
 * {@code calibrate} or {@code train} on several ranks through torch's launcher
 * ({@link DistributedLauncher}); every rank runs the same command without these options.
 */
final class DistributedOptions {
    private static final Set<String> NAMES = Set.of("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr",
            "--master-port", "--dist-timeout");

    @Option(names = "--nproc-per-node", paramLabel = "N", order = 100,
            description = "Run on N ranks on this machine (torch.distributed: gloo, or QUANTBRIDGE_DIST_BACKEND=nccl); "
                    + "calibration merges every rank's statistics, training wraps the model in DistributedDataParallel. "
                    + "PyTorch only.")
    Integer nprocPerNode;

    @Option(names = "--nnodes", paramLabel = "M", defaultValue = "1", order = 101,
            description = "Machines in the job (start the same command on each, with its --node-rank).")
    int nnodes;

    @Option(names = "--node-rank", paramLabel = "R", defaultValue = "0", order = 102, description = "This machine, 0 to M-1.")
    int nodeRank;

    @Option(names = "--master-addr", paramLabel = "HOST", defaultValue = "127.0.0.1", order = 103,
            description = "Host of node 0 (default 127.0.0.1).")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "P", order = 104,
            description = "Port on node 0 (default: a free port on one node, 29500 with --nnodes above 1).")
    Integer masterPort;

    @Option(names = "--dist-timeout", paramLabel = "SECONDS", defaultValue = "1800", order = 105,
            description = "A rank waiting longer than this for the others fails (default 1800).")
    int timeoutSeconds;

    /** True when the command must start the ranks instead of running here. */
    boolean launches() {
        return (nprocPerNode != null || nnodes != 1) && Ranks.current().isEmpty();
    }

    /**
     * Starts the ranks with this command's arguments minus the distributed options, prints rank 0's
     * output and returns the job's exit code (the failing rank's error as one line).
     *
     * @throws IllegalArgumentException if an option is out of range or the project is not PyTorch
     */
    int launch(CommandSpec spec, Framework framework) throws Exception {
        if (framework != Framework.TORCH) {
            throw new IllegalArgumentException("--nproc-per-node runs PyTorch jobs; TensorFlow calibration merges "
                    + "statistics of separate processes through quantbridge.tf.merge_calibration (see the README)");
        }
        if (nprocPerNode == null) {
            throw new IllegalArgumentException("--nnodes " + nnodes + " needs --nproc-per-node (ranks on each node)");
        }
        int port = masterPort != null ? masterPort : nnodes > 1 ? LaunchSpec.DEFAULT_PORT : 0;
        LaunchSpec launch = new LaunchSpec(nprocPerNode, nnodes, nodeRank, masterAddr, port, timeoutSeconds);
        List<String> args = rankArgs(spec.root().commandLine().getParseResult().originalArgs());
        PrintWriter out = spec.commandLine().getOut();
        DistributedResult r;
        try (ConsoleProgress progress = new ConsoleProgress(out)) {
            r = DistributedLauncher.detect().run(launch, args, progress, null);
        }
        out.print(r.output());
        out.flush();
        if (!r.ok()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("error: " + r.error());
            if (args.contains("--verbose") && !r.details().isBlank()) {
                err.print(r.details());
            }
            err.flush();
        } else if (r.output().isEmpty()) {
            out.printf("node %d: ranks %d-%d of %d finished; rank 0 on node 0 writes the outputs%n", nodeRank,
                    nodeRank * nprocPerNode, nodeRank * nprocPerNode + nprocPerNode - 1, launch.worldSize());
            out.flush();
        }
        return r.exitCode();
    }

    /** {@code args} without the distributed options and their values. */
    static List<String> rankArgs(List<String> args) {
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (NAMES.contains(name)) {
                if (!a.contains("=")) {
                    i++;
                }
                continue;
            }
            kept.add(a);
        }
        return kept;
    }
}
