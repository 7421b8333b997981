package io.quantbridge.report;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Layer dicts shaped as the Python bridge returns them (Long, Double, null, LinkedHashMap). */
final class Fixtures {
    static final Instant WHEN = Instant.parse("2024-05-01T12:30:00Z");

    private Fixtures() {
    }

    static Map<String, Object> layer(String name, boolean quantized, Double sqnr, Double clipped) {
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("shape", List.of(16L, 1L, 3L, 3L));
        w.put("axis", 0L);
        w.put("channels", 16L);
        w.put("min", -0.37);
        w.put("max", 0.35);
        w.put("absmax", 0.37);
        w.put("scale_min", 0.0021);
        w.put("scale_median", 0.0024);
        w.put("scale_max", 0.0029134);
        w.put("clipped_fraction", 0.0);
        w.put("sqnr_db", 49.2);
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("count", 32768L);
        a.put("min", -0.81);
        a.put("max", 1.85);
        a.put("scale", quantized ? 0.0104 : null);
        a.put("zero_point", quantized ? 78L : null);
        a.put("range_min", quantized ? -0.8133 : null);
        a.put("range_max", quantized ? 1.8455 : null);
        a.put("clipped_fraction", quantized ? clipped : null);
        a.put("sqnr_db", quantized ? 53.1 : null);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("op_type", "<class 'torch.nn.modules.conv.Conv2d'>");
        m.put("quant_strategy", quantized ? "Quant_INT8-8" : "float");
        m.put("quantized", quantized);
        m.put("batches", 8L);
        m.put("weight", w);
        m.put("activation", a);
        m.put("sqnr_db", quantized ? sqnr : null);
        return m;
    }

    static LayerStats stats(String name, Double sqnr) {
        return LayerStats.fromMap(layer(name, sqnr != null, sqnr, 0.0));
    }

    static LayerStats stats(String name, Double sqnr, double clipped) {
        return LayerStats.fromMap(layer(name, sqnr != null, sqnr, clipped));
    }

    /** conv (41 dB), fc (17 dB), head (float), dw (25 dB), in model order. */
    static List<LayerStats> model() {
        List<LayerStats> out = new ArrayList<>();
        out.add(stats("features/0/Conv2D", 41.0, 0.0));
        out.add(stats("fc/MatMul", 17.25, 0.02));
        out.add(stats("head/MatMul", null));
        out.add(stats("features/3/Conv2D", 25.5, 0.0005));
        return out;
    }

    static QuantReport report() {
        return new QuantReport("Digits report", "torch", WHEN, model(), List.of(), List.of());
    }
}
