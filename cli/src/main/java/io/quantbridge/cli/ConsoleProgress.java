package io.quantbridge.cli;

import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.ProgressListener;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress bars for the events Python sends: one bar per phase on a terminal, plain lines
 * (at most about one per tenth of the work) when output is redirected.
 */
final class ConsoleProgress implements ProgressListener, AutoCloseable {
    private final boolean terminal;
    private final PrintWriter out;
    private String phase;
    private ProgressBar bar;
    private long lastTenth = -1;

    ConsoleProgress(PrintStream out) {
        this(new PrintWriter(out, true));
    }

    ConsoleProgress(PrintWriter out) {
        this(out, isTerminal());
    }

    /**
     * True when output goes to a terminal. {@code System.console()} alone is not enough: from JDK
     * 22 it is non-null even when output is redirected, and {@code Console.isTerminal()} says so.
     * The launcher, which passes standard output through a pipe, tells with
     * {@code -Dquantbridge.terminal=true|false}.
     */
    static boolean isTerminal() {
        String told = System.getProperty("quantbridge.terminal");
        if (told != null && !told.isBlank()) {
            return Boolean.parseBoolean(told) && !"dumb".equals(System.getenv("TERM"));
        }
        java.io.Console console = System.console();
        if (console == null || "dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    ConsoleProgress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public synchronized void onEvent(ProgressEvent e) {
        if (!e.phase().equals(phase)) {
            finish();
            phase = e.phase();
            lastTenth = -1;
            if (terminal) {
                bar = new ProgressBarBuilder().setTaskName(String.format("%-10s", phase))
                        .setInitialMax(Math.max(e.total(), 1)).setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                        .setUpdateIntervalMillis(100).continuousUpdate().build();
            }
        }
        String extra = metrics(e.metrics());
        if (bar != null) {
            if (e.total() > 0 && bar.getMax() != e.total()) {
                bar.maxHint(e.total());
            }
            bar.stepTo(e.current());
            bar.setExtraMessage(extra);
            return;
        }
        long tenth = e.total() > 0 ? e.current() * 10 / e.total() : e.current();
        if (tenth != lastTenth) {
            lastTenth = tenth;
            out.printf(Locale.ROOT, "%-10s %d/%s %s%n", phase, e.current(), e.total() > 0 ? e.total() : "?", extra);
            out.flush();
        }
    }

    private static String metrics(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=')
                .append(v instanceof Number n ? String.format(Locale.ROOT, "%.4g", n.doubleValue()) : v));
        return sb.toString();
    }

    /** Closes the current bar, if any. */
    synchronized void finish() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
        phase = null;
    }

    @Override
    public void close() {
        finish();
    }
}
