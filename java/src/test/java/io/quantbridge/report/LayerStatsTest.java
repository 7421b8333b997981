package io.quantbridge.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LayerStatsTest {
    @Test
    void readsTheBridgeValues() {
        LayerStats s = LayerStats.fromMap(Fixtures.layer("features/0/Conv2D", true, 47.9, 0.25));
        assertEquals("features/0/Conv2D", s.name());
        assertEquals("Quant_INT8-8", s.quantStrategy());
        assertTrue(s.quantized());
        assertEquals(8, s.batches());
        assertEquals(47.9, s.sqnrDb());
        assertEquals(List.of(16L, 1L, 3L, 3L), s.weight().shape());
        assertEquals(16, s.weight().channels());
        assertEquals(0.0029134, s.weight().scaleMax());
        assertEquals(78, s.activation().zeroPoint());
        assertEquals(32768, s.activation().count());
        assertEquals(0.25, s.activation().clippedFraction());
    }

    @Test
    void floatLayersHaveNulls() {
        LayerStats s = LayerStats.fromMap(Fixtures.layer("fc/MatMul", false, null, null));
        assertFalse(s.quantized());
        assertNull(s.sqnrDb());
        assertFalse(s.hasSqnr());
        assertNull(s.activation().scale());
        assertNull(s.activation().zeroPoint());
        assertEquals(-0.81, s.activation().min());
    }

    @Test
    void integersArriveAsLongOrDouble() {
        Map<String, Object> m = Fixtures.layer("x", true, 30.0, 0.0);
        asMap(m.get("weight")).put("min", 0L);   // Python int 0 for a float field
        m.put("sqnr_db", 12L);
        LayerStats s = LayerStats.fromMap(m);
        assertEquals(0.0, s.weight().min());
        assertEquals(12.0, s.sqnrDb());
    }

    @Test
    void missingOrWrongValuesNameTheLayerAndKey() {
        Map<String, Object> m = Fixtures.layer("conv", true, 30.0, 0.0);
        m.remove("op_type");
        var e = assertThrows(IllegalArgumentException.class, () -> LayerStats.fromMap(m));
        assertTrue(e.getMessage().contains("layer 'conv'") && e.getMessage().contains("'op_type'"), e.getMessage());

        Map<String, Object> bad = Fixtures.layer("conv", true, 30.0, 0.0);
        asMap(bad.get("weight")).put("min", "small");
        e = assertThrows(IllegalArgumentException.class, () -> LayerStats.fromMap(bad));
        assertTrue(e.getMessage().contains("layer 'conv'.weight.min"), e.getMessage());
        assertTrue(e.getMessage().contains("expected a number"), e.getMessage());

        Map<String, Object> zp = Fixtures.layer("conv", true, 30.0, 0.0);
        asMap(zp.get("activation")).put("zero_point", 1.5);
        e = assertThrows(IllegalArgumentException.class, () -> LayerStats.fromMap(zp));
        assertTrue(e.getMessage().contains("activation.zero_point"), e.getMessage());
    }

    @Test
    void fromMapsKeepsModelOrderAndChecksTypes() {
        List<Object> list = new ArrayList<>();
        list.add(Fixtures.layer("a", true, 10.0, 0.0));
        list.add(Fixtures.layer("b", false, null, null));
        assertEquals(List.of("a", "b"), LayerStats.fromMaps(list).stream().map(LayerStats::name).toList());
        assertThrows(IllegalArgumentException.class, () -> LayerStats.fromMaps("not a list"));
        list.add("not a dict");
        var e = assertThrows(IllegalArgumentException.class, () -> LayerStats.fromMaps(list));
        assertTrue(e.getMessage().startsWith("layer 2"), e.getMessage());
    }

    @Test
    void worstFirstPutsLayersWithoutSqnrLast() {
        List<LayerStats> layers = new ArrayList<>(List.of(Fixtures.stats("none1", null), Fixtures.stats("inf",
                Double.POSITIVE_INFINITY), Fixtures.stats("nan", Double.NaN), Fixtures.stats("b", 30.0),
                Fixtures.stats("a", 12.0), Fixtures.stats("b2", 30.0), Fixtures.stats("neg", -3.0)));
        layers.sort(LayerStats.WORST_FIRST);
        assertEquals(List.of("neg", "a", "b", "b2", "inf", "none1", "nan"),
                layers.stream().map(LayerStats::name).toList());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }
}
