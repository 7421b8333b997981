package io.quantbridge.tf;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.ConfigException;
import io.quantbridge.config.ConfigFit;
import io.quantbridge.config.LayerInfo;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.export.StagedOutput;
import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbridge.io.AtomicFiles;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.onnx.QdqBuilder;
import io.quantbridge.onnx.WeightType;
import io.quantbridge.onnx.TfOnnxLayers;
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
 * The vendor's TensorFlow workflow, Java-typed: the user's graph builder runs in sessions opened
 * through the runtime; the config is generated and validated in Java; calibration and retraining
 * call the user's functions; the ranges come back into Java; Java writes the parameter file next
 * to the frozen {@code .pb} that the shim exports.
 */
public final class TfQuantizer {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_]+");
    private final PythonRuntime rt;
    private final TfProject project;

    /**
     * Puts the project on {@code sys.path} and imports the builder's module.
     *
     * @throws QuantBridgeException if it does not import
     */
    public TfQuantizer(PythonRuntime rt, TfProject project) throws QuantBridgeException {
        this.rt = rt;
        this.project = project;
        if (!project.pythonPath().isEmpty()) {
            rt.addPythonPath(project.pythonPath().toArray(Path[]::new));
        }
        rt.importModule("quantbridge.tf");
        rt.importModule(project.graphBuilder().substring(0, project.graphBuilder().indexOf(':')));
    }

    /** The project this quantizer runs. */
    public TfProject project() {
        return project;
    }

    /** The runtime this quantizer calls Python through. */
    public PythonRuntime runtime() {
        return rt;
    }

    /** A new session over a freshly built float graph (no weights loaded). */
    public TfSession openFloat() throws QuantBridgeException {
        return new TfSession(rt, open(), project, null);
    }

    private PyHandle open() throws QuantBridgeException {
        PyHandle h = (PyHandle) rt.call("quantbridge._tf_support:open_session", project.graphBuilder(), project.builderKwargs());
        try {
            rt.callMethod(h, "check_names", project.input(), project.outputs());
            return h;
        } catch (QuantBridgeException e) {
            rt.callMethod(h, "close");
            h.close();
            throw e;
        }
    }

    /** The quantizable ops of the float graph (Conv2D, MatMul, DepthwiseConv2dNative), in graph order. */
    public List<LayerInfo> layers(TfSession session) throws QuantBridgeException {
        try (PyHandle graph = (PyHandle) rt.getAttr(session.handle(), "graph")) {
            List<LayerInfo> out = new ArrayList<>();
            for (Object o : (List<?>) rt.call("quantbridge.tf:list_layers", graph)) {
                List<?> pair = (List<?>) o;
                out.add(new LayerInfo(String.valueOf(pair.get(0)), String.valueOf(pair.get(1))));
            }
            return out;
        }
    }

    /**
     * Checks {@code config}: its structure in Java ({@link QuantConfig#validate()}), then its fit to
     * the graph of {@code session} in the shim (layer names, op types, strategies). Nothing changes.
     *
     * @throws ConfigException naming the layer, key or value when the config does not fit
     */
    public void checkConfig(TfSession session, QuantConfig config) throws QuantBridgeException {
        config.validate();
        try (PyHandle graph = (PyHandle) rt.getAttr(session.handle(), "graph")) {
            ConfigFit.ask(() -> rt.call("quantbridge.tf:check_config", List.of(graph, config.toMap()),
                    Map.of("checked", true), null));
        }
    }

    /** The vendor template: every quantizable op at {@code float}. */
    public QuantConfig generateConfig() throws QuantBridgeException {
        try (TfSession s = openFloat(); PyHandle sess = (PyHandle) rt.getAttr(s.handle(), "sess")) {
            Object json = rt.call("quantbridge._java_support:call_json", "quantbridge.tf:build_config", List.of(sess));
            return QuantConfig.parse(String.valueOf(json));
        }
    }

    /**
     * Builds the graph again, validates {@code config} against it in Java, rewrites it (the vendor's
     * {@code optimize_model} with fresh {@code quant_flag} / {@code is_train} placeholders) and
     * restores {@code floatCheckpoint} when given.
     */
    public TfSession optimize(QuantConfig config, Path floatCheckpoint) throws QuantBridgeException {
        config.validate();
        PyHandle h = open();
        TfSession s = new TfSession(rt, h, project, config);
        try {
            // The shim checks the fit to the graph (structure: validate above), then rewrites.
            ConfigFit.ask(() -> rt.callMethod(h, "optimize", List.of(config.toMap()), Map.of("checked", true), null));
            if (floatCheckpoint != null) {
                s.restoreFloat(floatCheckpoint);
            }
            return s;
        } catch (QuantBridgeException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Exports the quantized session: its checkpoint is saved, the float graph is rebuilt in a new
     * session and the shim writes the frozen {@code <name>.pb} and {@code <name>.onnx} (the float
     * graph converted by tf2onnx); Java writes {@code <name>_quant_param.json} and builds
     * {@code <name>_int8.onnx} from the float ONNX and those parameters ({@link TfOnnxLayers},
     * {@link QdqBuilder}). All-or-nothing into {@code outDir}.
     */
    public TfExport export(TfSession quantized, Path outDir, String name, boolean overwrite, ProgressListener listener)
            throws QuantBridgeException {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("export name '" + name + "' must contain only letters, digits and underscores");
        }
        QuantConfig config = quantized.config().orElseThrow(
                () -> new IllegalStateException("export needs a session rewritten by optimize"));
        WeightType weightType = WeightType.of(config.onnxWeightType());
        ProgressListener progress = listener == null ? ProgressListener.NONE : listener;
        String pbName = name + ".pb";
        String onnxName = name + ".onnx";
        String int8Name = name + "_int8.onnx";
        String paramName = name + "_quant_param.json";
        try (StagedOutput out = StagedOutput.open(outDir, List.of(pbName, onnxName, int8Name, paramName), overwrite)) {
            try {
                progress.onEvent(new ProgressEvent("export", 0, 3, Map.of()));
                Path ckpt = quantized.save(out.staged("quant.ckpt"));
                progress.onEvent(new ProgressEvent("export", 1, 3, Map.of()));
                Map<?, ?> result;
                try (TfSession fresh = openFloat(); PyHandle sess = (PyHandle) rt.getAttr(fresh.handle(), "sess")) {
                    result = (Map<?, ?>) rt.call("quantbridge.tf:export_pb",
                            List.of(sess, config.toMap(), project.outputs(), ckpt.toString(), out.dir().toString()),
                            Map.of("name", name, "onnx", true), null);
                }
                progress.onEvent(new ProgressEvent("export", 2, 3, Map.of()));
                QuantParams params = QuantParams.fromLayerMaps("tensorflow", layerMaps(result.get("layers")))
                        .withPointMaps(layerMaps(result.get("points")))
                        .withModel(ModelInfo.of(out.staged(pbName), (String) result.get("input_shape"),
                                names(result.get("outputs"))));
                ParamFile.write(out.staged(paramName), params);
                Path floatOnnx = out.staged(onnxName);
                ModelProto floatModel = OnnxModels.load(floatOnnx);
                QuantParams onnxParams = TfOnnxLayers.forOnnx(floatModel, params, onnxName, OnnxModels.sha256(floatOnnx));
                AtomicFiles.write(out.staged(int8Name), QdqBuilder.build(floatModel, onnxParams, weightType).toByteArray());
                out.commit();
                progress.onEvent(new ProgressEvent("export", 3, 3, Map.of()));
                return new TfExport(out.target(pbName), out.target(onnxName), out.target(int8Name),
                        out.target(paramName), params);
            } catch (QuantBridgeException e) {
                throw out.hidden(e);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, ?>> layerMaps(Object layers) {
        return (List<Map<String, ?>>) layers;
    }

    private static List<String> names(Object list) {
        return ((List<?>) list).stream().map(String::valueOf).toList();
    }

    /**
     * Runs the frozen {@code .pb} and the quantized session (quant_flag=1, inference) on {@code x}
     * and compares their first outputs.
     */
    public OrtSessionRunner.Comparison verify(TfSession quantized, TfExport files, NDArray<float[]> x)
            throws QuantBridgeException {
        NDArray<?> frozen = (NDArray<?>) runFrozen(files.frozenPb(), x);
        return OrtSessionRunner.compare(List.of(FloatTensor.of((float[]) frozen.getData(), frozen.getDimensions())),
                List.of(sessionOutput(quantized, x)));
    }

    /**
     * Runs the exported INT8 QDQ ONNX in ONNX Runtime (Java) on {@code x} and compares it with the
     * quantized session (quant_flag=1, inference) on the same input.
     */
    public OrtSessionRunner.Comparison verifyOnnx(TfSession quantized, TfExport files, NDArray<float[]> x)
            throws QuantBridgeException {
        FloatTensor got;
        try (OrtSessionRunner ort = new OrtSessionRunner(files.int8Onnx())) {
            got = ort.run(x.getData(), FloatTensor.of(x.getData(), x.getDimensions()).shape());
        }
        return OrtSessionRunner.compare(List.of(got), List.of(sessionOutput(quantized, x)));
    }

    /** The quantized session's first output on {@code x} (quant_flag=1, inference). */
    public FloatTensor sessionOutput(TfSession quantized, NDArray<float[]> x) throws QuantBridgeException {
        String output = project.outputs().get(0);
        NDArray<?> session = (NDArray<?>) quantized.predict(x, output.contains(":") ? output : output + ":0", true);
        return FloatTensor.of((float[]) session.getData(), session.getDimensions());
    }

    /** Runs a frozen {@code .pb} on {@code x} in a fresh graph and returns the first output. */
    public Object runFrozen(Path pb, Object x) throws QuantBridgeException {
        Object outs = rt.call("quantbridge.tf:run_frozen", pb.toString(), Map.of(project.input(), x), project.outputs());
        return ((List<?>) outs).get(0);
    }
}
