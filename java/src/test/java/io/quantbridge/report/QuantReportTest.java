package io.quantbridge.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class QuantReportTest {
    private static List<String> keys(JsonNode node) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    @Test
    void sortsWorstFirstAndSummarises() {
        QuantReport r = Fixtures.report();
        assertEquals(List.of("fc/MatMul", "features/3/Conv2D", "features/0/Conv2D", "head/MatMul"),
                r.layers().stream().map(LayerStats::name).toList());
        assertEquals(3, r.quantizedCount());
        assertEquals(1, r.floatCount());
        assertEquals("fc/MatMul", r.worst().orElseThrow().name());
        assertEquals((41.0 + 17.25 + 25.5) / 3, r.meanSqnrDb().orElseThrow(), 1e-12);
        assertEquals(1, r.countBelow(QuantReport.POOR_BELOW_DB));
        assertEquals(2, r.countBelow(QuantReport.FAIR_BELOW_DB));
        assertThrows(UnsupportedOperationException.class, () -> r.layers().clear());
    }

    @Test
    void infiniteSqnrIsLeftOutOfTheMean() {
        QuantReport r = QuantReport.of("t", "torch", List.of(Fixtures.stats("a", 20.0),
                Fixtures.stats("b", Double.POSITIVE_INFINITY)));
        assertEquals(20.0, r.meanSqnrDb().orElseThrow());
        QuantReport none = QuantReport.of("t", "torch", List.of(Fixtures.stats("f", null)));
        assertTrue(none.worst().isEmpty());
        assertTrue(none.meanSqnrDb().isEmpty());
    }

    @Test
    void jsonHasAStableLayout() throws Exception {
        QuantReport r = Fixtures.report().withAccuracy(List.of(new AccuracyRow("float", 97.5),
                new AccuracyRow("PTQ", 97.25))).withNotes(List.of("calibrated on 8 batches"));
        String json = r.toJson();
        assertEquals(json, r.toJson());
        JsonNode root = new ObjectMapper().readTree(json);            // strict JSON when all values are finite
        assertEquals(List.of("format", "version", "title", "framework", "created", "summary", "accuracy", "notes",
                "layers"), keys(root));
        assertEquals("quantbridge-report", root.get("format").asText());
        assertEquals(1, root.get("version").asInt());
        assertEquals("2024-05-01T12:30:00Z", root.get("created").asText());
        JsonNode summary = root.get("summary");
        assertEquals(List.of("layers", "quantized", "float", "worst_layer", "worst_sqnr_db", "mean_sqnr_db",
                "poor_below_db", "poor_layers", "fair_below_db", "fair_layers"), keys(summary));
        assertEquals("fc/MatMul", summary.get("worst_layer").asText());
        assertEquals(17.25, summary.get("worst_sqnr_db").asDouble());
        assertEquals(1, summary.get("poor_layers").asInt());
        assertEquals(1, summary.get("fair_layers").asInt());
        assertEquals("PTQ", root.get("accuracy").get(1).get("stage").asText());
        assertEquals(97.25, root.get("accuracy").get(1).get("accuracy").asDouble());
        assertEquals("calibrated on 8 batches", root.get("notes").get(0).asText());
        JsonNode layers = root.get("layers");
        assertEquals(4, layers.size());
        assertEquals("fc/MatMul", layers.get(0).get("name").asText());
        assertEquals(List.copyOf(Fixtures.layer("x", true, 1.0, 0.0).keySet()), keys(layers.get(0)));
        assertEquals(List.copyOf(((java.util.Map<?, ?>) Fixtures.layer("x", true, 1.0, 0.0).get("weight")).keySet()),
                keys(layers.get(0).get("weight")));
        assertEquals(List.copyOf(((java.util.Map<?, ?>) Fixtures.layer("x", true, 1.0, 0.0).get("activation"))
                .keySet()), keys(layers.get(0).get("activation")));
        assertEquals(78, layers.get(0).get("activation").get("zero_point").asInt());
        JsonNode floatLayer = layers.get(3);
        assertEquals("head/MatMul", floatLayer.get("name").asText());
        assertTrue(floatLayer.get("sqnr_db").isNull());
        assertTrue(floatLayer.get("activation").get("scale").isNull());
        assertTrue(json.endsWith("}\n"));
    }

    @Test
    void infiniteValuesAreWrittenAsStrictJsonNull() throws Exception {
        QuantReport r = QuantReport.of("t", "torch", List.of(Fixtures.stats("a", Double.POSITIVE_INFINITY)));
        String json = r.toJson();
        assertFalse(json.contains("Infinity"), "strict JSON: " + json);
        assertTrue(json.contains("\"sqnr_db\": null"), json);
        assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json)
                .get("layers").get(0).get("sqnr_db").isNull(), "a strict parser reads it");
    }

    @Test
    void nonAsciiNamesAreKept() throws Exception {
        QuantReport r = QuantReport.of("Bericht \u00fcber \u201cNetz\u201d", "tensorflow",
                List.of(Fixtures.stats("sch\u00e4tzer/\u5c42/MatMul", 33.0)));
        JsonNode root = new ObjectMapper().readTree(r.toJson());
        assertEquals("sch\u00e4tzer/\u5c42/MatMul", root.get("layers").get(0).get("name").asText());
        assertEquals("Bericht \u00fcber \u201cNetz\u201d", root.get("title").asText());
    }
}
