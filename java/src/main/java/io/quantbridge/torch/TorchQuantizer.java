package io.quantbridge.torch;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.ConfigFit;
import io.quantbridge.config.InputShape;
import io.quantbridge.config.LayerInfo;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.export.StagedOutput;
import io.quantbridge.io.AtomicFiles;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.onnx.QdqBuilder;
import io.quantbridge.onnx.WeightType;
import io.quantbridge.params.ModelInfo;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import jep.NDArray;

/**
 * The vendor's PyTorch workflow, Java-typed: generate the config, optimize (insert fake quant),
 * calibrate or retrain with the user's own functions, pull the scales back, export the float
 * ONNX, the parameter file and the INT8 QDQ ONNX.
 *
 * <pre>{@code
 * try (PythonRuntime rt = PythonRuntime.open()) {
 *     TorchQuantizer q = new TorchQuantizer(rt, TorchProject.of("my_project.models:build", projectDir));
 *     try (PyHandle model = q.newFloatModel()) {
 *         QuantConfig cfg = q.generateConfig(model, "x:1,3,224,224");
 *         cfg.quantizeAll("Quant_INT8-8");
 *         try (QuantModel qm = q.optimize(model, cfg)) {
 *             qm.calibrate("my_project.data:calibration_batches", Map.of(), 32, listener);
 *             TorchExport files = q.export(qm, outDir, "model", false, listener);
 *         }
 *     }
 * }
 * }</pre>
 */
public final class TorchQuantizer {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_]+");
    private final PythonRuntime rt;
    private final TorchProject project;

    /**
     * Puts the project on {@code sys.path} and imports the factory's module (so a typo fails here).
     *
     * @throws QuantBridgeException if the module does not import
     */
    public TorchQuantizer(PythonRuntime rt, TorchProject project) throws QuantBridgeException {
        this.rt = rt;
        this.project = project;
        if (!project.pythonPath().isEmpty()) {
            rt.addPythonPath(project.pythonPath().toArray(Path[]::new));
        }
        rt.importModule("quantbridge.torch");
        rt.importModule(project.modelFactory().substring(0, project.modelFactory().indexOf(':')));
    }

    /** The runtime this quantizer uses. */
    public PythonRuntime runtime() {
        return rt;
    }

    /** A fresh float model from the user's factory. */
    public PyHandle newFloatModel() throws QuantBridgeException {
        Object m = rt.call(project.modelFactory(), List.of(), project.factoryKwargs(), null);
        return QuantModel.asHandle(m, "model factory " + project.modelFactory());
    }

    /** The quantizable layers of {@code model}, in model order. */
    public List<LayerInfo> layers(PyHandle model) throws QuantBridgeException {
        List<LayerInfo> out = new ArrayList<>();
        for (Object o : (List<?>) rt.call("quantbridge.torch:list_layers", model)) {
            List<?> pair = (List<?>) o;
            out.add(new LayerInfo(String.valueOf(pair.get(0)), String.valueOf(pair.get(1))));
        }
        return out;
    }

    /**
     * The vendor template for {@code model}: every supported layer at {@code float}.
     *
     * @param inputShape the deployed input shape, {@code "x:1,3,224,224;y:..."}
     */
    public QuantConfig generateConfig(PyHandle model, String inputShape) throws QuantBridgeException {
        InputShape.parse(inputShape);
        // As JSON text: the layer order of the model survives the trip.
        Object json = rt.call("quantbridge._java_support:call_json", "quantbridge.torch:build_config",
                List.of(model, inputShape));
        return QuantConfig.parse(String.valueOf(json));
    }

    /**
     * A config the shim found to fit a model.
     *
     * @param config the config as given
     * @param resolvedJson the shim's resolved config (every layer of the model with its strategy,
     *     the {@code quantbridge} section with its defaults) as JSON text
     */
    public record Resolved(QuantConfig config, String resolvedJson) {
    }

    /**
     * Checks {@code config}: its structure in Java ({@link QuantConfig#validate()}), then its fit to
     * {@code model} in the shim (layer names, op types, strategies; the one call that asks it).
     * Nothing changes in the model.
     *
     * @throws ConfigException naming the layer, key or value when the config does not fit
     */
    public Resolved resolve(PyHandle model, QuantConfig config) throws QuantBridgeException {
        config.validate();
        Object json = ConfigFit.ask(() -> rt.call("quantbridge._java_support:call_json",
                "quantbridge.torch._config:resolve", List.of(model, config.toMap()), Map.of("checked", true)));
        return new Resolved(config, String.valueOf(json));
    }

    /**
     * Inserts fake quant as {@link #resolve} resolved the config (the vendor's {@code optimize_model}
     * without checking again); {@code model} is changed in place and returned as the quant model.
     *
     * @param resolved what {@link #resolve} returned for this same model
     */
    public QuantModel optimize(PyHandle model, Resolved resolved) throws QuantBridgeException {
        Object qm = rt.call("quantbridge._java_support:quantize_resolved", model, resolved.resolvedJson());
        return new QuantModel(rt, QuantModel.asHandle(qm, "optimize_model"), resolved.config());
    }

    /**
     * {@link #resolve} then {@link #optimize(PyHandle, Resolved)}: the config is checked, then fake
     * quant is inserted; {@code model} is changed in place and returned as the quant model.
     *
     * @throws QuantBridgeException naming the layer, key or value when the config does not fit
     */
    public QuantModel optimize(PyHandle model, QuantConfig config) throws QuantBridgeException {
        return optimize(model, resolve(model, config));
    }

    /**
     * Exports the quant model: {@code <name>.onnx} (by the shim, from a fresh float model and the
     * quant model's state), {@code <name>_quant_param.json} and {@code <name>_int8.onnx} (by Java),
     * all-or-nothing into {@code outDir}.
     *
     * @param overwrite replace existing files of the same names
     */
    public TorchExport export(QuantModel qm, Path outDir, String name, boolean overwrite, ProgressListener listener)
            throws QuantBridgeException {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("export name '" + name + "' must contain only letters, digits and underscores");
        }
        ProgressListener progress = listener == null ? ProgressListener.NONE : listener;
        WeightType weightType = WeightType.of(qm.config().onnxWeightType());
        String onnxName = name + ".onnx";
        String int8Name = name + "_int8.onnx";
        String paramName = name + "_quant_param.json";
        try (StagedOutput out = StagedOutput.open(outDir, List.of(onnxName, paramName, int8Name), overwrite);
             PyHandle fresh = newFloatModel()) {
            try {
                progress.onEvent(new ProgressEvent("export", 0, 3, Map.of()));
                Path pth = out.staged("quant_state.pth");
                qm.saveState(pth);
                Map<String, Object> exported = asMap(rt.call("quantbridge.torch:export_onnx",
                        List.of(fresh, qm.config().toMap(), pth.toString(), out.dir().toString()),
                        Map.of("name", name, "checked", qm.config().isValidated()), null));
                progress.onEvent(new ProgressEvent("export", 1, 3, Map.of()));
                Path floatOnnx = out.staged(onnxName);
                QuantParams params = QuantParams.fromLayerMaps("torch", QuantModel.asList(exported.get("layers")))
                        .withPointMaps(QuantModel.asList(exported.get("points")))
                        .withModel(ModelInfo.of(floatOnnx, qm.config().inputShape().map(InputShape::format).orElse(null),
                                ((List<?>) exported.get("outputs")).stream().map(String::valueOf).toList()));
                ParamFile.write(out.staged(paramName), params);
                progress.onEvent(new ProgressEvent("export", 2, 3, Map.of()));
                AtomicFiles.write(out.staged(int8Name), QdqBuilder.build(OnnxModels.load(floatOnnx), params, weightType).toByteArray());
                out.commit();
                progress.onEvent(new ProgressEvent("export", 3, 3, Map.of()));
                return new TorchExport(out.target(onnxName), out.target(int8Name), out.target(paramName), params);
            } catch (QuantBridgeException e) {
                throw out.hidden(e);
            }
        }
    }

    /**
     * Runs the exported INT8 QDQ ONNX in ONNX Runtime (Java) on {@code x} and compares it with the
     * fake-quant model in Python on the same input.
     *
     * @param x a batch for the model's single input, e.g. from the user's data
     */
    public OrtSessionRunner.Comparison verify(QuantModel qm, TorchExport files, NDArray<float[]> x)
            throws QuantBridgeException {
        NDArray<?> fq = (NDArray<?>) rt.call("quantbridge.torch:fake_quant_predict", qm.handle(), x);
        FloatTensor expected = FloatTensor.of((float[]) fq.getData(), fq.getDimensions());
        FloatTensor got;
        try (OrtSessionRunner ort = new OrtSessionRunner(files.int8Onnx())) {
            got = ort.run(x.getData(), FloatTensor.of(x.getData(), x.getDimensions()).shape());
        }
        return OrtSessionRunner.compare(List.of(got), List.of(expected));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }
}
