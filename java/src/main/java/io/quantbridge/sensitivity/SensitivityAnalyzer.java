package io.quantbridge.sensitivity;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.tf.TfProject;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.tf.TfSession;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchQuantizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Automatic mixed precision for both frameworks: measures each quantized layer (the model with
 * only that layer quantized, and with all but that layer quantized) and greedily keeps the fewest
 * layers in float that meet a {@link Target}, re-measuring the real model at every step (the
 * shim's {@code quantbridge.sensitivity}).
 *
 * <pre>{@code
 * qm.calibrate("my_project.data:batches", Map.of(), 8, listener);
 * SensitivityResult r = SensitivityAnalyzer.forTorch(q, qm, "my_project.data:batches",
 *         "my_project.eval:accuracy", Target.maxDrop(0.5));
 * r.config().write(Path.of("config_mixed.json"), false);
 * }</pre>
 */
public final class SensitivityAnalyzer {
    private static final String FLOAT = "float";
    private static final String TARGET_FORM = "[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*";

    private SensitivityAnalyzer() {
    }

    /** The full {@code forTorch} over every batch, without progress events. */
    public static SensitivityResult forTorch(TorchQuantizer quantizer, QuantModel calibrated, String dataFunction,
                                             String evalFunction, Target target) throws QuantBridgeException {
        return forTorch(quantizer, calibrated, dataFunction, evalFunction, target, 0, null);
    }

    /**
     * Sensitivity of a calibrated PyTorch quant model; its quantized layers are the candidates.
     * Layers are switched to float in place through their quantizers' flags and restored afterwards.
     *
     * @param dataFunction {@code package.module:function} returning the batches the SQNR is measured on
     * @param evalFunction {@code package.module:function} taking the model and returning a number
     *     (accuracy in percent, say), or null
     * @param maxBatches at most this many batches, or 0 for all
     * @param listener receives {@code sensitivity} progress events; may be null
     * @return the numbers, the chosen float layers and a copy of the model's config with them at {@code "float"}
     * @throws IllegalArgumentException if a function target is malformed, or the target needs an
     *     evaluation function and none is given
     * @throws QuantBridgeException if Python fails (an uncalibrated model, the user's code, ...)
     */
    public static SensitivityResult forTorch(TorchQuantizer quantizer, QuantModel calibrated, String dataFunction,
                                             String evalFunction, Target target, int maxBatches,
                                             ProgressListener listener) throws QuantBridgeException {
        Objects.requireNonNull(quantizer, "quantizer");
        Objects.requireNonNull(calibrated, "calibrated");
        Map<String, Object> kwargs = common(dataFunction, evalFunction, target, maxBatches);
        Object out = quantizer.runtime().call("quantbridge.sensitivity:torch_analyze",
                List.of(calibrated.handle(), dataFunction, target.toMap()), kwargs, listener);
        return parse(out, target, calibrated.config(), "torch");
    }

    /** The full {@code forTf} over every batch, without progress events. */
    public static SensitivityResult forTf(TfQuantizer quantizer, QuantConfig config, Path floatCkpt,
                                          String dataFunction, String evalFunction, Target target) throws QuantBridgeException {
        return forTf(quantizer, config, floatCkpt, dataFunction, evalFunction, target, 0, 0, null);
    }

    /**
     * Sensitivity of a TensorFlow graph; the layers {@code config} quantizes are the candidates.
     * Each configuration is a config variant built in a fresh graph (optimize, restore the float
     * checkpoint, calibrate, measure), so {@code 2 x layers + 1} graphs and the search's extra ones
     * are built.
     *
     * @param floatCkpt the trained float checkpoint (prefix)
     * @param dataFunction {@code package.module:function} returning the input batches (calibration and SQNR)
     * @param evalFunction {@code package.module:function} called as {@code fn(sess, info, feed_extra=feed)}
     *     ({@code feed}: the flag placeholders' names to feed) returning a number, or null
     * @param maxBatches at most this many batches, or 0 for all
     * @param calibBatches calibrate each variant on the first this many of them, or 0 for all
     * @param listener receives {@code sensitivity} progress events; may be null
     * @throws ConfigException if {@code config} is malformed or quantizes no layer
     * @throws IllegalArgumentException as for {@code forTorch}
     * @throws QuantBridgeException if Python fails
     */
    public static SensitivityResult forTf(TfQuantizer quantizer, QuantConfig config, Path floatCkpt,
                                          String dataFunction, String evalFunction, Target target, int maxBatches,
                                          int calibBatches,
                                          ProgressListener listener) throws QuantBridgeException {
        Objects.requireNonNull(quantizer, "quantizer");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(floatCkpt, "floatCkpt");
        config.validate();
        if (config.layers().stream().noneMatch(io.quantbridge.config.LayerEntry::isQuantized)) {
            throw new ConfigException(config.source() + " quantizes no layer: set the candidate layers to "
                    + "'Quant_INT8-8' (they are the layers the analysis may keep in float)");
        }
        Map<String, Object> kwargs = common(dataFunction, evalFunction, target, maxBatches);
        TfProject p = quantizer.project();
        kwargs.put("builder", p.graphBuilder());
        kwargs.put("builder_kwargs", p.builderKwargs());
        kwargs.put("config", config.toMap());
        kwargs.put("float_ckpt", floatCkpt.toAbsolutePath().toString());
        kwargs.put("data_function", dataFunction);
        kwargs.put("input_name", p.input());
        kwargs.put("output_names", p.outputs());
        kwargs.put("target", target.toMap());
        if (calibBatches > 0) {
            kwargs.put("calib_batches", calibBatches);
        }
        // The shim runs every variant in its own graph; a float session is only the way in.
        try (TfSession session = quantizer.openFloat()) {
            Object out = session.call("quantbridge.sensitivity:tf_analyze_in_session", kwargs, "sensitivity", listener);
            return parse(out, target, config, "tensorflow");
        }
    }

    private static Map<String, Object> common(String dataFunction, String evalFunction, Target target, int maxBatches) {
        Objects.requireNonNull(target, "target");
        checkTarget(dataFunction, "data function");
        if (evalFunction != null) {
            checkTarget(evalFunction, "evaluation function");
        } else if (target.needsEval()) {
            throw new IllegalArgumentException("target '" + target + "' compares the evaluation metric: give an "
                    + "evaluation function (package.module:function), or use a min SQNR target");
        }
        if (maxBatches < 0) {
            throw new IllegalArgumentException("maxBatches must be >= 0 (0: all), got " + maxBatches);
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        if (evalFunction != null) {
            kwargs.put("eval_function", evalFunction);
        }
        if (maxBatches > 0) {
            kwargs.put("max_batches", maxBatches);
        }
        return kwargs;
    }

    private static void checkTarget(String function, String what) {
        if (function == null || !function.matches(TARGET_FORM)) {
            throw new IllegalArgumentException(what + " must be 'package.module:function', got '" + function + "'");
        }
    }

    /** Turns the shim's {@code {"sensitivity", "selection"}} into a result with a new config. */
    static SensitivityResult parse(Object out, Target target, QuantConfig base, String framework)
            throws ConfigException {
        Map<?, ?> all = asMap(out, "result");
        Map<?, ?> sens = asMap(all.get("sensitivity"), "sensitivity");
        Map<?, ?> sel = asMap(all.get("selection"), "selection");
        List<LayerSensitivity> layers = new ArrayList<>();
        for (Object o : asList(sens.get("layers"), "layers")) {
            Map<?, ?> l = asMap(o, "layer");
            String name = String.valueOf(l.get("name"));
            layers.add(new LayerSensitivity(name, String.valueOf(l.get("op_type")),
                    Measurement.fromMap(l.get("only_this"), name + ".only_this"),
                    Measurement.fromMap(l.get("all_but_this"), name + ".all_but_this")));
        }
        List<String> floatLayers = new ArrayList<>();
        asList(sel.get("float_layers"), "float_layers").forEach(n -> floatLayers.add(String.valueOf(n)));
        QuantConfig config = base.copy();
        for (String name : floatLayers) {
            config.setStrategy(name, FLOAT);
        }
        return new SensitivityResult(framework, target, Measurement.fromMap(sens.get("float"), "float"),
                Measurement.fromMap(sens.get("quantized"), "quantized"), layers, floatLayers,
                Boolean.TRUE.equals(sel.get("met")), Measurement.fromMap(sel.get("metrics"), "metrics"),
                number(sens.get("batches")), number(sel.get("measured")), String.valueOf(sel.get("note")), config);
    }

    private static Map<?, ?> asMap(Object o, String what) {
        if (o instanceof Map<?, ?> m) {
            return m;
        }
        throw new IllegalStateException("sensitivity result: expected a dict for " + what + ", got " + o);
    }

    private static List<?> asList(Object o, String what) {
        if (o instanceof List<?> l) {
            return l;
        }
        throw new IllegalStateException("sensitivity result: expected a list for " + what + ", got " + o);
    }

    private static int number(Object o) {
        return o instanceof Number n ? n.intValue() : 0;
    }
}
