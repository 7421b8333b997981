package io.quantbridge.cli;

import io.quantbridge.project.UserArgs;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * {@code --data-arg KEY=VALUE}, the data function's keyword arguments, and the {@code --batches}
 * check; shared by the commands that take a data function. {@code -d/--data} and
 * {@code -n/--batches} stay with each command: their help texts differ.
 */
final class DataArgOption {
    @Option(names = "--data-arg", paramLabel = "KEY=VALUE", description = "Keyword argument for the data function (repeatable).")
    Map<String, String> values = new LinkedHashMap<>();

    /** The keyword arguments, values read as JSON where they parse. */
    Map<String, Object> parse() {
        return UserArgs.parse(values, "--data-arg");
    }

    /**
     * Checks a {@code --batches} value.
     *
     * @throws IllegalArgumentException if {@code batches} is negative
     */
    static void checkBatches(int batches) {
        if (batches < 0) {
            throw new IllegalArgumentException("--batches " + batches + ": expected 0 (all) or a positive count");
        }
    }
}
