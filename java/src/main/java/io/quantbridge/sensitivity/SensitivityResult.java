package io.quantbridge.sensitivity;

import io.quantbridge.config.QuantConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a sensitivity analysis measured and chose.
 *
 * @param framework {@code torch} or {@code tensorflow}
 * @param target the target the choice was made for
 * @param floatBaseline every candidate layer in float (the float model)
 * @param quantizedBaseline every candidate layer quantized
 * @param layers one entry per candidate layer, in model order
 * @param floatLayers the layers chosen to stay in float, in model order (every candidate when the
 *     target cannot be met)
 * @param targetMet whether {@code chosen} meets the target
 * @param chosen the measured numbers of the chosen configuration
 * @param batches how many batches the SQNR was measured on
 * @param extraMeasurements configurations the search measured beyond the per-layer table
 * @param note one line on the outcome
 * @param config a copy of the starting config with {@code floatLayers} set to {@code "float"}
 */
public record SensitivityResult(String framework, Target target, Measurement floatBaseline,
                                Measurement quantizedBaseline, List<LayerSensitivity> layers, List<String> floatLayers,
                                boolean targetMet, Measurement chosen, int batches, int extraMeasurements, String note,
                                QuantConfig config) {
    /** Copies the lists; {@code config} is kept as given (the analyzer hands over a fresh copy). */
    public SensitivityResult {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(config, "config");
        layers = List.copyOf(layers);
        floatLayers = List.copyOf(floatLayers);
    }

    /** True if the evaluation metric was measured (an evaluation function was given). */
    public boolean hasEval() {
        return floatBaseline.hasEval();
    }

    /**
     * The layers ordered by the damage each does when quantized alone, worst first: by the
     * evaluation metric when the target is about it, else by SQNR; model order breaks ties.
     */
    public List<LayerSensitivity> worstFirst() {
        boolean byEval = target.needsEval() && hasEval();
        List<LayerSensitivity> out = new ArrayList<>(layers);
        out.sort(Comparator.comparingDouble((LayerSensitivity l) -> l.damageKey(byEval))
                .thenComparingDouble(l -> l.onlyThis().sqnrDb()));
        return out;
    }

    /** The per-layer table (worst first), the baselines and the choice, as printed by the CLI. */
    public String table() {
        int width = Math.max(5, layers.stream().mapToInt(l -> l.name().length()).max().orElse(5));
        String fmt = "%-" + width + "s  %-6s  %12s  %10s  %12s  %10s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, fmt, "layer", "chosen", "only: SQNR", "only: eval", "all-but: SQNR",
                "all-but: eval"));
        sb.append("-".repeat(width + 62)).append('\n');
        for (LayerSensitivity l : worstFirst()) {
            sb.append(String.format(Locale.ROOT, fmt, l.name(), floatLayers.contains(l.name()) ? "float" : "int8",
                    Measurement.formatSqnr(l.onlyThis().sqnrDb()), eval(l.onlyThis()),
                    Measurement.formatSqnr(l.allButThis().sqnrDb()), eval(l.allButThis())));
        }
        sb.append("only: this layer alone quantized; all-but: every candidate quantized except this layer\n");
        sb.append("float model: ").append(floatBaseline.format()).append("; all quantized: ")
                .append(quantizedBaseline.format()).append('\n');
        sb.append("target ").append(target).append(targetMet ? ": met" : ": NOT met").append(" with ")
                .append(floatLayers.size()).append(" of ").append(layers.size()).append(" layers in float ")
                .append(floatLayers).append(" -> ").append(chosen.format()).append('\n');
        return sb.toString();
    }

    private static String eval(Measurement m) {
        return m.hasEval() ? String.format(Locale.ROOT, "%.2f", m.eval()) : "-";
    }
}
