package io.quantbridge.it;

import io.quantbridge.json.Json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.report.AccuracyRow;
import io.quantbridge.report.LayerStats;
import io.quantbridge.report.QuantReport;
import io.quantbridge.report.ReportFiles;
import io.quantbridge.report.ReportWriter;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quantization report through the real runtime: the PyTorch digits example trained, quantized
 * and calibrated from Java, its per-layer statistics taken by {@code quantbridge.analysis} and
 * written as {@code report.json} and {@code report.html}.
 *
 * <p>Set {@code -Dquantbridge.report.dir=/some/dir} to also write the report there (replacing an
 * earlier one), e.g. to look at the page in a browser.
 */
class ReportEndToEndTest {
    private static final String EX = "quantbridge.examples.digits_torch";

    @Test
    void torchReportFromCalibrationBatches(@TempDir Path tmp) throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of(EX + ":build_model"));
            PyHandle model = q.newFloatModel();
            rt.call(EX + ":train_float", List.of(model), Map.of("epochs", 2), null);
            double floatAcc = ((Number) rt.call(EX + ":evaluate", model)).doubleValue();
            QuantConfig cfg = q.generateConfig(model, "x:1,1,8,8");
            assertEquals(4, cfg.quantizeAll("Quant_INT8-8"));
            List<ProgressEvent> events = new ArrayList<>();
            List<LayerStats> layers;
            double ptqAcc;
            try (QuantModel qm = q.optimize(model, cfg);
                 PyHandle batches = (PyHandle) rt.call("quantbridge._java_support:call_user_held",
                         EX + ":calibration_batches", List.of(), Map.of(), "calibrate")) {
                assertEquals(8, qm.calibrate(batches, 0, null));
                ptqAcc = ((Number) rt.call(EX + ":evaluate", qm.handle())).doubleValue();
                Object raw = rt.call("quantbridge.analysis:torch_layer_stats", List.of(qm.handle(), batches), Map.of(),
                        events::add);
                layers = LayerStats.fromMaps(raw);
            }

            assertEquals(List.of("features/0/Conv2D", "features/3/Conv2D", "features/6/Conv2D", "fc/MatMul"),
                    layers.stream().map(LayerStats::name).toList(), "model order from Python");
            assertEquals(8, events.stream().filter(e -> e.phase().equals("analyze")).count());
            for (LayerStats s : layers) {
                assertTrue(s.quantized() && s.hasSqnr() && Double.isFinite(s.sqnrDb()) && s.sqnrDb() > 20.0,
                        s.name() + ": " + s.sqnrDb());
                assertEquals(8, s.batches());
                assertTrue(s.activation().scale() > 0 && s.activation().clippedFraction() >= 0.0, s.name());
                assertEquals(0.0, s.weight().clippedFraction(), s.name());
            }

            QuantReport report = QuantReport.of("Digits (PyTorch) quantization report", "torch", layers)
                    .withAccuracy(List.of(new AccuracyRow("float", floatAcc), new AccuracyRow("PTQ", ptqAcc)))
                    .withNotes(List.of("8 calibration batches of 64 images; minmax calibration"));
            double worst = layers.stream().mapToDouble(LayerStats::sqnrDb).min().orElseThrow();
            assertEquals(worst, report.layers().get(0).sqnrDb());
            for (int i = 1; i < report.layers().size(); i++) {
                assertTrue(report.layers().get(i - 1).sqnrDb() <= report.layers().get(i).sqnrDb());
            }

            ReportFiles files = ReportWriter.write(tmp, report);
            JsonNode root = Json.parse(Files.readString(files.json(), StandardCharsets.UTF_8));
            assertEquals("quantbridge-report", root.get("format").asText());
            assertEquals(report.layers().get(0).name(), root.get("layers").get(0).get("name").asText());
            assertEquals(report.layers().get(0).name(), root.get("summary").get("worst_layer").asText());
            assertEquals(worst, root.get("summary").get("worst_sqnr_db").asDouble());
            assertEquals(4, root.get("summary").get("quantized").asInt());
            assertEquals(floatAcc, root.get("accuracy").get(0).get("accuracy").asDouble());
            String html = Files.readString(files.html(), StandardCharsets.UTF_8);
            assertTrue(html.contains("<svg") && html.contains("features/6/Conv2D") && html.contains("Accuracy"));
            System.out.printf("quantbridge report: float %.2f%%, PTQ %.2f%%, worst layer %s at %.1f dB%n", floatAcc,
                    ptqAcc, report.layers().get(0).name(), worst);

            String copyTo = System.getProperty("quantbridge.report.dir");
            if (copyTo != null && !copyTo.isBlank()) {
                Path dir = Files.createDirectories(Path.of(copyTo));
                ReportWriter.write(dir, report, true);
            }
            model.close();
        }
    }
}
