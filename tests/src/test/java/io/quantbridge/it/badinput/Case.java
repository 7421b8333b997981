package io.quantbridge.it.badinput;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One bad input: a command line, the exit code it must end with and the fragments its one
 * {@code error:} line must hold (the offending file, function, batch, layer or option).
 *
 * @param name what is wrong, for the test's display name
 * @param args the command line
 * @param exit the expected exit code
 * @param fragments what the error line must contain
 * @param setup run before the snapshot (makes the files the user has before the command), or null
 */
record Case(String name, List<String> args, int exit, List<String> fragments, Setup setup) {
    /** Work done before a case runs (its files then count as the user's). */
    @FunctionalInterface
    interface Setup {
        void run() throws Exception;
    }

    Case {
        args = List.copyOf(args);
        fragments = List.copyOf(fragments);
    }

    /** A case with no setup. */
    static Case of(String name, List<String> args, int exit, String... fragments) {
        return new Case(name, args, exit, Arrays.asList(fragments), null);
    }

    /** This case with {@code setup} run first. */
    Case withSetup(Setup s) {
        return new Case(name, args, exit, fragments, s);
    }

    /** A command line builder: {@code line("calibrate", "-c", path, ...)}. */
    static List<String> line(Object... parts) {
        List<String> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof List<?> l) {
                l.forEach(x -> out.add(String.valueOf(x)));
            } else {
                out.add(String.valueOf(p));
            }
        }
        return out;
    }
}
