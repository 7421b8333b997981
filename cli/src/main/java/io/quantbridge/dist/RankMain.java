package io.quantbridge.dist;

import io.quantbridge.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * The entry point of one rank: runs the command line's job ({@code calibrate ...} or
 * {@code train ...}, the same code as in one process) with what it prints captured, leaves a
 * {@link RankResult} in the job directory for the launching process, and exits with the
 * command's code. The job code asks {@link Ranks} about its rank.
 */
public final class RankMain {
    private RankMain() {
    }

    /** Runs {@code args} as a rank of the job named by the environment ({@link RankEnv}). */
    public static void main(String[] args) {
        RankEnv env = RankEnv.current().orElse(null);
        if (env == null) {
            System.err.println("error: RankMain runs one rank of a job started by quantbridge --nproc-per-node; "
                    + "the environment lacks " + RankEnv.DIR_VARIABLE + " or RANK");
            System.exit(Main.EXIT_ENV);
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code;
        try {
            code = cl.execute(args);
        } catch (RuntimeException | Error e) {
            err.write("error: rank " + env.rank() + ": " + e + "\n");
            code = Main.EXIT_PYTHON;
        }
        try {
            new RankResult(env.rank(), code, out.toString(), err.toString(), System.currentTimeMillis())
                    .write(env.resultFile());
        } catch (Exception e) {
            System.err.println("error: rank " + env.rank() + " could not write its result to " + env.resultFile() + ": " + e);
            code = code == 0 ? Main.EXIT_ENV : code;
        }
        System.out.flush();
        System.exit(code);
    }
}
