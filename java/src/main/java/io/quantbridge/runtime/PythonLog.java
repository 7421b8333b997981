package io.quantbridge.runtime;

import java.io.PrintStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the embedded interpreter's output goes: SLF4J loggers named {@code python.stdout},
 * {@code python.stderr} (one event per line), {@code python.<logger>} for Python {@code logging}
 * records and {@code python.py.warnings} for warnings. The levels enabled for these loggers in
 * your SLF4J backend decide what Python emits at all ({@code python.tensorflow} below INFO also
 * lets TensorFlow's C++ log through). With the system property
 * {@code quantbridge.pythonOutput=console} (the command line sets it) lines printed to
 * {@code sys.stdout} and {@code sys.stderr} go to this process's standard output and error as
 * they are, the way a script's {@code print} would. Public only because JEP calls it; not part
 * of the API.
 */
public final class PythonLog {
    private static final Logger STDOUT = LoggerFactory.getLogger("python.stdout");
    private static final Logger STDERR = LoggerFactory.getLogger("python.stderr");
    private static final boolean CONSOLE = "console".equals(System.getProperty("quantbridge.pythonOutput"));

    PythonLog() {
    }

    /** One line printed to {@code sys.stdout} (INFO) or {@code sys.stderr} (WARN). */
    public void line(String stream, String text) {
        if (CONSOLE) {
            PrintStream console = "stdout".equals(stream) ? System.out : System.err;
            console.println(text);
            console.flush();
        } else if ("stdout".equals(stream)) {
            STDOUT.info(text);
        } else {
            STDERR.warn(text);
        }
    }

    /** One Python {@code logging} record: {@code level} is Python's number (10 DEBUG ... 50 CRITICAL). */
    public void record(String name, int level, String message) {
        Logger log = logger(name);
        if (level >= 40) {
            log.error(message);
        } else if (level >= 30) {
            log.warn(message);
        } else if (level >= 20) {
            log.info(message);
        } else if (level >= 10) {
            log.debug(message);
        } else {
            log.trace(message);
        }
    }

    /** The lowest Python level that the SLF4J logger for Python logger {@code name} ("" for the root) lets through. */
    public int level(String name) {
        Logger log = logger(name);
        if (log.isTraceEnabled()) {
            return 1;
        }
        if (log.isDebugEnabled()) {
            return 10;
        }
        if (log.isInfoEnabled()) {
            return 20;
        }
        if (log.isWarnEnabled()) {
            return 30;
        }
        return log.isErrorEnabled() ? 40 : 60;
    }

    private static Logger logger(String name) {
        return LoggerFactory.getLogger(name == null || name.isEmpty() || name.equals("root") ? "python" : "python." + name);
    }
}
