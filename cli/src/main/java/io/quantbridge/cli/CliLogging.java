package io.quantbridge.cli;

import java.util.Arrays;

/**
 * The command line's logging set-up, before the first logger exists: {@code --verbose} lets
 * TensorFlow's deprecation notices and C++ log and Python warnings through (see
 * {@code simplelogger.properties} for the quiet defaults); what user code prints goes to standard
 * output and error as it is ({@code quantbridge.pythonOutput=console}).
 */
final class CliLogging {
    private CliLogging() {
    }

    static void configure(String[] args) {
        if (System.getProperty("quantbridge.pythonOutput") == null) {
            System.setProperty("quantbridge.pythonOutput", "console");
        }
        if (Arrays.asList(args).contains("--verbose")) {
            for (String logger : new String[] {"python.tensorflow", "python.absl", "python.py.warnings"}) {
                System.setProperty("org.slf4j.simpleLogger.log." + logger, "info");
            }
        }
    }
}
