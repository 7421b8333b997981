package io.quantbridge.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Statistics of one layer, mirroring a dict of {@code quantbridge.analysis.torch_layer_stats} /
 * {@code tf_layer_stats}.
 *
 * @param name the layer name as the config uses it
 * @param opType the layer's op type as the config names it
 * @param quantStrategy {@code "Quant_INT8-8"} or {@code "float"}
 * @param quantized true for a quantized layer
 * @param batches number of batches analysed
 * @param weight weight statistics (null if the shim gave none)
 * @param activation input statistics (null if the shim gave none)
 * @param sqnrDb SQNR of the layer's fake-quant output against its float output on the same
 *     input, dB; null for float layers, infinite when the two are identical
 */
public record LayerStats(String name, String opType, String quantStrategy, boolean quantized, long batches,
                         WeightStats weight, ActivationStats activation, Double sqnrDb) {
    /**
     * Worst first: ascending SQNR, infinite after finite values; layers without an SQNR (float
     * layers, NaN) last. Ties keep their order in a stable sort.
     */
    public static final Comparator<LayerStats> WORST_FIRST = Comparator
            .comparing((LayerStats s) -> !s.hasSqnr())
            .thenComparingDouble(s -> s.hasSqnr() ? s.sqnrDb() : 0.0);

    /** Checks presence of the names. */
    public LayerStats {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(quantStrategy, "quantStrategy");
    }

    /** True when the layer has a comparable SQNR (not null, not NaN). */
    public boolean hasSqnr() {
        return sqnrDb != null && !sqnrDb.isNaN();
    }

    /**
     * Reads one layer dict as the bridge returns it.
     *
     * @throws IllegalArgumentException if a key is missing or has the wrong type (named in the message)
     */
    public static LayerStats fromMap(Map<?, ?> map) {
        Object rawName = map == null ? null : map.get("name");
        StatsMap m = new StatsMap(map, "layer " + (rawName == null ? "?" : "'" + rawName + "'"));
        return new LayerStats(m.string("name"), m.string("op_type"), m.string("quant_strategy"), m.bool("quantized"),
                m.integer("batches", 0), WeightStats.from(m.child("weight")), ActivationStats.from(m.child("activation")),
                m.number("sqnr_db"));
    }

    /**
     * Reads the list {@code quantbridge.analysis:*_layer_stats} returns (model order kept).
     *
     * @throws IllegalArgumentException if it is not a list of layer dicts
     */
    public static List<LayerStats> fromMaps(Object list) {
        if (!(list instanceof List<?> items)) {
            throw new IllegalArgumentException("expected the list of layer dicts of quantbridge.analysis, got "
                    + (list == null ? "None" : list.getClass().getSimpleName()));
        }
        List<LayerStats> out = new ArrayList<>(items.size());
        for (Object item : items) {
            if (!(item instanceof Map<?, ?> map)) {
                throw new IllegalArgumentException("layer " + out.size() + ": expected a dict of layer statistics, got "
                        + (item == null ? "None" : item.getClass().getSimpleName()));
            }
            out.add(fromMap(map));
        }
        return out;
    }
}
