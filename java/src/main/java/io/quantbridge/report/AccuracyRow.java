package io.quantbridge.report;

import java.util.Objects;

/**
 * One line of the report's accuracy table, as the user's evaluation function returned it.
 *
 * @param stage what was evaluated ({@code float}, {@code PTQ}, {@code QAT}, ...)
 * @param accuracy the evaluation result, in the function's own unit (percent for the examples)
 */
public record AccuracyRow(String stage, double accuracy) {
    /** Checks that the stage is named. */
    public AccuracyRow {
        Objects.requireNonNull(stage, "stage");
    }
}
