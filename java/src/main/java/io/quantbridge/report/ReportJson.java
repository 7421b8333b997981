package io.quantbridge.report;

import io.quantbridge.json.Json;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The layout of {@code report.json}.
 *
 * <pre>
 * {"format": "quantbridge-report", "version": 1, "title": ..., "framework": ..., "created": ISO-8601,
 *  "summary": {"layers", "quantized", "float", "worst_layer", "worst_sqnr_db", "mean_sqnr_db",
 *              "poor_below_db", "poor_layers", "fair_below_db", "fair_layers"},
 *  "accuracy": [{"stage", "accuracy"}], "notes": [...],
 *  "layers": [ worst first, each with the keys of quantbridge.analysis (snake_case) ]}
 * </pre>
 */
final class ReportJson {
    /** The {@code format} value. */
    static final String FORMAT = "quantbridge-report";
    /** The {@code version} value. */
    static final int VERSION = 1;
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private ReportJson() {
    }

    static String write(QuantReport r) {
        ObjectNode root = F.objectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("title", r.title());
        root.put("framework", r.framework());
        root.put("created", r.created().toString());
        ObjectNode summary = root.putObject("summary");
        summary.put("layers", r.layers().size());
        summary.put("quantized", r.quantizedCount());
        summary.put("float", r.floatCount());
        summary.put("worst_layer", r.worst().map(LayerStats::name).orElse(null));
        number(summary, "worst_sqnr_db", r.worst().map(LayerStats::sqnrDb).orElse(null));
        number(summary, "mean_sqnr_db", r.meanSqnrDb().isPresent() ? r.meanSqnrDb().getAsDouble() : null);
        summary.put("poor_below_db", QuantReport.POOR_BELOW_DB);
        summary.put("poor_layers", r.countBelow(QuantReport.POOR_BELOW_DB));
        summary.put("fair_below_db", QuantReport.FAIR_BELOW_DB);
        summary.put("fair_layers", r.countBelow(QuantReport.FAIR_BELOW_DB) - r.countBelow(QuantReport.POOR_BELOW_DB));
        ArrayNode accuracy = root.putArray("accuracy");
        for (AccuracyRow row : r.accuracy()) {
            accuracy.addObject().put("stage", row.stage()).put("accuracy", row.accuracy());
        }
        ArrayNode notes = root.putArray("notes");
        r.notes().forEach(notes::add);
        ArrayNode layers = root.putArray("layers");
        for (LayerStats s : r.layers()) {
            layers.add(layer(s));
        }
        return Json.write(root, false);
    }

    private static ObjectNode layer(LayerStats s) {
        ObjectNode o = F.objectNode();
        o.put("name", s.name());
        o.put("op_type", s.opType());
        o.put("quant_strategy", s.quantStrategy());
        o.put("quantized", s.quantized());
        o.put("batches", s.batches());
        WeightStats w = s.weight();
        if (w == null) {
            o.putNull("weight");
        } else {
            ObjectNode wo = o.putObject("weight");
            ArrayNode shape = wo.putArray("shape");
            w.shape().forEach(shape::add);
            wo.put("axis", w.axis());
            wo.put("channels", w.channels());
            number(wo, "min", w.min());
            number(wo, "max", w.max());
            number(wo, "absmax", w.absmax());
            number(wo, "scale_min", w.scaleMin());
            number(wo, "scale_median", w.scaleMedian());
            number(wo, "scale_max", w.scaleMax());
            number(wo, "clipped_fraction", w.clippedFraction());
            number(wo, "sqnr_db", w.sqnrDb());
        }
        ActivationStats a = s.activation();
        if (a == null) {
            o.putNull("activation");
        } else {
            ObjectNode ao = o.putObject("activation");
            ao.put("count", a.count());
            number(ao, "min", a.min());
            number(ao, "max", a.max());
            number(ao, "scale", a.scale());
            if (a.zeroPoint() == null) {
                ao.putNull("zero_point");
            } else {
                ao.put("zero_point", a.zeroPoint());
            }
            number(ao, "range_min", a.rangeMin());
            number(ao, "range_max", a.rangeMax());
            number(ao, "clipped_fraction", a.clippedFraction());
            number(ao, "sqnr_db", a.sqnrDb());
        }
        number(o, "sqnr_db", s.sqnrDb());
        return o;
    }

    private static void number(ObjectNode o, String key, Double value) {
        // Strict JSON has no Infinity or NaN: a layer whose fake-quant output equals the float
        // output (infinite SQNR) or a value that does not exist is written as null.
        if (value == null || !Double.isFinite(value)) {
            o.putNull(key);
        } else {
            o.put(key, value.doubleValue());
        }
    }
}
