package io.quantbridge.project;

import io.quantbridge.runtime.Targets;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.report.AccuracyRow;
import io.quantbridge.report.LayerStats;
import io.quantbridge.report.QuantReport;
import io.quantbridge.report.ReportFiles;
import io.quantbridge.report.ReportWriter;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The per-layer report of a step ({@code --report DIR}), through {@code io.quantbridge.report}. */
final class Reports {
    private Reports() {
    }

    /**
     * Checks the report's directory, its files and its data function before a step starts.
     *
     * @throws QuantBridgeException if the directory is missing, a report file exists without
     *     {@code force}, or the data function does not exist
     */
    static void check(PythonRuntime rt, Workflow.Report report, boolean force) throws QuantBridgeException {
        if (report == null) {
            return;
        }
        ProjectFiles.checkOutputs(report.dir(), List.of(ReportWriter.JSON_NAME, ReportWriter.HTML_NAME), force,
                "--report");
        Targets.check(rt, report.dataFunction(), "--data");
    }

    /** The user's batches (at most {@code limit}, 0 for all), held in Python. */
    static PyHandle batches(PythonRuntime rt, String dataFunction, Map<String, Object> dataArgs, int limit,
                            ProgressListener progress) throws QuantBridgeException {
        return (PyHandle) rt.call("quantbridge._cli_support:limited_batches", List.of(),
                Map.of("target", dataFunction, "kwargs", dataArgs, "limit", limit), progress);
    }

    /**
     * Writes {@code report.json} and {@code report.html} from the raw statistics.
     *
     * @param stage the step ({@code calibrated}, {@code trained}, {@code exported})
     * @return the two files
     */
    static List<Path> write(Workflow.Report report, boolean force, Framework fw, QuantConfig config, String stage,
                            Object rawStats, Double floatAcc, Double quantAcc) throws QuantBridgeException {
        List<LayerStats> layers;
        try {
            layers = LayerStats.fromMaps(rawStats);
        } catch (IllegalArgumentException e) {
            throw new QuantBridgeException("the layer statistics from Python are malformed: " + e.getMessage(), e);
        }
        List<AccuracyRow> acc = new ArrayList<>();
        if (floatAcc != null) {
            acc.add(new AccuracyRow("float", floatAcc));
        }
        if (quantAcc != null) {
            acc.add(new AccuracyRow(stage, quantAcc));
        }
        String method = config.calibration().method();
        List<String> notes = List.of(String.format(Locale.ROOT, "config %s; statistics over %s from %s; calibration "
                        + "method %s", config.source(), report.batches() > 0 ? "at most " + report.batches() + " batches"
                        : "all batches", report.dataFunction(), method));
        QuantReport r = QuantReport.of("Quantization report (" + ProjectSpec.name(fw) + ", " + stage + ")", fw.id(), layers)
                .withAccuracy(acc).withNotes(notes);
        ReportFiles files = ReportWriter.write(report.dir(), r, force);
        return List.of(files.json(), files.html());
    }
}
