package io.quantbridge.sensitivity;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.LayerEntry;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.Targets;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PythonRuntime;
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
 * <p>The user's functions follow the project commands' contract ({@code docs/cli.md}): the data
 * function {@code data(**dataArgs)} returns an iterable of batches; the evaluation function is
 * {@code evaluate(model)} (PyTorch) or {@code evaluate(sess, info, quant_flag=1 or 0,
 * is_train_flag=False)} (TensorFlow) and returns a number, or a dict with an {@code accuracy}
 * entry. Their {@code package.module:function} targets are checked as the project commands check
 * them ({@link Targets}).
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

    private SensitivityAnalyzer() {
    }

    /** The full {@code forTorch} over every batch, without data arguments or progress events. */
    public static SensitivityResult forTorch(TorchQuantizer quantizer, QuantModel calibrated, String dataFunction,
                                             String evalFunction, Target target) throws QuantBridgeException {
        return forTorch(quantizer, calibrated, dataFunction, Map.of(), evalFunction, target, 0, null);
    }

    /**
     * Sensitivity of a calibrated PyTorch quant model; its quantized layers are the candidates.
     * Layers are switched to float in place through their quantizers' flags and restored afterwards.
     *
     * @param dataFunction {@code package.module:function} returning the batches the SQNR is measured on
     * @param dataArgs keyword arguments for the data function
     * @param evalFunction {@code package.module:function} called as {@code evaluate(model)}, returning
     *     a number (accuracy in percent, say) or a dict with an {@code accuracy} entry; or null
     * @param maxBatches at most this many batches, or 0 for all
     * @param listener receives {@code sensitivity} progress events; may be null
     * @return the numbers, the chosen float layers and a copy of the model's config with them at {@code "float"}
     * @throws IllegalArgumentException if a function target is malformed, or the target needs an
     *     evaluation function and none is given
     * @throws QuantBridgeException if a function's module or function is missing, or Python fails
     *     (an uncalibrated model, the user's code, ...)
     */
    public static SensitivityResult forTorch(TorchQuantizer quantizer, QuantModel calibrated, String dataFunction,
                                             Map<String, Object> dataArgs, String evalFunction, Target target,
                                             int maxBatches, ProgressListener listener) throws QuantBridgeException {
        Objects.requireNonNull(quantizer, "quantizer");
        Objects.requireNonNull(calibrated, "calibrated");
        PythonRuntime rt = quantizer.runtime();
        Map<String, Object> kwargs = common(rt, dataFunction, dataArgs, evalFunction, target, maxBatches);
        Object out = rt.call("quantbridge.sensitivity:torch_analyze",
                List.of(calibrated.handle(), dataFunction, target.toMap()), kwargs, listener);
        return parse(out, target, calibrated.config(), "torch");
    }

    /** The full {@code forTf} over every batch, without data arguments or progress events. */
    public static SensitivityResult forTf(TfQuantizer quantizer, QuantConfig config, Path floatCkpt,
                                          String dataFunction, String evalFunction, Target target) throws QuantBridgeException {
        return forTf(quantizer, config, floatCkpt, dataFunction, Map.of(), evalFunction, target, 0, 0, null);
    }

    /**
     * Sensitivity of a TensorFlow graph; the layers {@code config} quantizes are the candidates.
     * The config is first checked against the float graph; then each configuration is a config
     * variant built in a fresh graph (optimize, restore the float checkpoint, calibrate, measure),
     * so {@code 2 x layers + 1} graphs and the search's extra ones are built.
     *
     * @param floatCkpt the trained float checkpoint (prefix)
     * @param dataFunction {@code package.module:function} returning the input batches (calibration and SQNR)
     * @param dataArgs keyword arguments for the data function
     * @param evalFunction {@code package.module:function} called as {@code evaluate(sess, info,
     *     quant_flag=1 or 0, is_train_flag=False)} with the graph as default ({@code info}: the
     *     builder's dict plus the names of the two flag placeholders), returning a number or a dict
     *     with an {@code accuracy} entry; or null
     * @param maxBatches at most this many batches, or 0 for all
     * @param calibBatches calibrate each variant on the first this many of them, or 0 for all
     * @param listener receives {@code sensitivity} progress events; may be null
     * @throws ConfigException if {@code config} is malformed, does not fit the graph or quantizes no layer
     * @throws IllegalArgumentException as for {@code forTorch}
     * @throws QuantBridgeException if a function is missing, or Python fails
     */
    public static SensitivityResult forTf(TfQuantizer quantizer, QuantConfig config, Path floatCkpt,
                                          String dataFunction, Map<String, Object> dataArgs, String evalFunction,
                                          Target target, int maxBatches, int calibBatches,
                                          ProgressListener listener) throws QuantBridgeException {
        Objects.requireNonNull(quantizer, "quantizer");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(floatCkpt, "floatCkpt");
        config.validate();
        if (config.layers().stream().noneMatch(LayerEntry::isQuantized)) {
            throw new ConfigException(config.source() + " quantizes no layer: set the candidate layers to "
                    + "'Quant_INT8-8' (they are the layers the analysis may keep in float)");
        }
        if (calibBatches < 0) {
            throw new IllegalArgumentException("calibBatches must be >= 0 (0: all), got " + calibBatches);
        }
        PythonRuntime rt = quantizer.runtime();
        Map<String, Object> kwargs = common(rt, dataFunction, dataArgs, evalFunction, target, maxBatches);
        // Before the long work: the config's layers exist in the graph, the tensor names too.
        try (TfSession session = quantizer.openFloat()) {
            quantizer.checkConfig(session, config);
        }
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
        Object out = rt.call("quantbridge.sensitivity:tf_analyze", List.of(), kwargs, listener);
        return parse(out, target, config, "tensorflow");
    }

    private static Map<String, Object> common(PythonRuntime rt, String dataFunction, Map<String, Object> dataArgs,
                                              String evalFunction, Target target, int maxBatches)
            throws QuantBridgeException {
        Objects.requireNonNull(target, "target");
        if (evalFunction == null && target.needsEval()) {
            throw new IllegalArgumentException("target '" + target + "' compares the evaluation metric: give an "
                    + "evaluation function (package.module:function), or use a min SQNR target");
        }
        if (maxBatches < 0) {
            throw new IllegalArgumentException("maxBatches must be >= 0 (0: all), got " + maxBatches);
        }
        Targets.check(rt, dataFunction, "data function");
        if (evalFunction != null) {
            Targets.check(rt, evalFunction, "evaluation function");
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("data_kwargs", dataArgs == null ? Map.of() : dataArgs);
        if (evalFunction != null) {
            kwargs.put("eval_function", evalFunction);
        }
        if (maxBatches > 0) {
            kwargs.put("max_batches", maxBatches);
        }
        return kwargs;
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
