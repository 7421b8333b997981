package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.quantbridge.QuantBridgeException;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs an ONNX model in ONNX Runtime (CPU) with float inputs and outputs.
 *
 * <p>Owns its {@link OrtSession}; the {@link OrtEnvironment} is the process-wide singleton and is
 * never closed here. {@link #close()} is idempotent; use after close throws
 * {@link IllegalStateException}. Runs may come from several threads (ORT sessions are thread-safe).
 */
public final class OrtSessionRunner implements AutoCloseable {
    private final OrtSession session;
    private final List<String> inputNames;
    private final List<String> outputNames;
    private volatile boolean closed;

    /** How a session is created from the environment and options. */
    @FunctionalInterface
    private interface Opener {
        OrtSession open(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException;
    }

    /**
     * A session over a model file with ONNX Runtime's default threading.
     *
     * @throws QuantBridgeException if the file is missing or ONNX Runtime cannot load it
     */
    public OrtSessionRunner(Path model) throws QuantBridgeException {
        this(checkFile(model), 0, model.toString());
    }

    /**
     * A session over an in-memory model with ONNX Runtime's default threading.
     *
     * @throws QuantBridgeException if ONNX Runtime cannot load the model
     */
    public OrtSessionRunner(ModelProto model) throws QuantBridgeException {
        this(model.toByteArray(), 0);
    }

    /**
     * A session over a serialized model.
     *
     * @param intraOpThreads threads per run, 0 for ONNX Runtime's default
     * @throws QuantBridgeException if ONNX Runtime cannot load the model
     */
    public OrtSessionRunner(byte[] model, int intraOpThreads) throws QuantBridgeException {
        this((env, options) -> env.createSession(Objects.requireNonNull(model, "model"), options), intraOpThreads,
                "the model");
    }

    private OrtSessionRunner(Opener opener, int intraOpThreads, String what) throws QuantBridgeException {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads is " + intraOpThreads + "; expected 0 (default) or more");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            // errors only: ONNX Runtime warns on stderr about every optional input (an initializer
            // that is also a graph input, e.g. a TensorFlow placeholder with a default)
            options.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            if (intraOpThreads > 0) {
                options.setIntraOpNumThreads(intraOpThreads);
            }
            session = opener.open(env, options);
            inputNames = List.copyOf(session.getInputNames());
            outputNames = List.copyOf(session.getOutputNames());
        } catch (OrtException e) {
            throw new QuantBridgeException("ONNX Runtime cannot load " + what + ": " + e.getMessage(), e);
        }
    }

    private static Opener checkFile(Path model) throws QuantBridgeException {
        Objects.requireNonNull(model, "model");
        if (!java.nio.file.Files.isRegularFile(model)) {
            throw new QuantBridgeException("ONNX model " + model + " does not exist or is not a file");
        }
        String path = model.toAbsolutePath().toString();
        return (env, options) -> env.createSession(path, options);
    }

    /** The model's input names, in model order. */
    public List<String> inputNames() {
        checkOpen();
        return inputNames;
    }

    /** The model's output names, in model order. */
    public List<String> outputNames() {
        checkOpen();
        return outputNames;
    }

    /**
     * Runs the model.
     *
     * @param inputs a tensor for every input, by name
     * @return every output by name, in model order
     * @throws IllegalArgumentException if an input is missing or unknown
     * @throws QuantBridgeException if ONNX Runtime fails (wrong shape, non-float output, ...)
     */
    public Map<String, FloatTensor> run(Map<String, FloatTensor> inputs) throws QuantBridgeException {
        checkOpen();
        Objects.requireNonNull(inputs, "inputs");
        for (String name : inputs.keySet()) {
            if (!inputNames.contains(name)) {
                throw new IllegalArgumentException("unknown input name " + name + ", expected one of " + inputNames);
            }
        }
        for (String name : inputNames) {
            if (!inputs.containsKey(name)) {
                throw new IllegalArgumentException("missing input " + name + "; the model needs " + inputNames
                        + ", got " + inputs.keySet());
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, FloatTensor> e : inputs.entrySet()) {
                feed.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().data()),
                        e.getValue().shape()));
            }
            try (OrtSession.Result result = session.run(feed)) {
                Map<String, FloatTensor> out = new LinkedHashMap<>();
                for (String name : outputNames) {
                    out.put(name, toFloat(name, result.get(name).orElseThrow()));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new QuantBridgeException("ONNX Runtime failed to run the model: " + e.getMessage(), e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Runs a single-input model and returns its first output.
     *
     * @throws IllegalArgumentException if the model has more than one input or the data does not fit the shape
     * @throws QuantBridgeException if ONNX Runtime fails
     */
    public FloatTensor run(float[] data, long[] shape) throws QuantBridgeException {
        checkOpen();
        if (inputNames.size() != 1) {
            throw new IllegalArgumentException("the model has inputs " + inputNames
                    + "; expected exactly one for run(data, shape), use run(Map) instead");
        }
        return run(Map.of(inputNames.get(0), new FloatTensor(data, shape))).get(outputNames.get(0));
    }

    /**
     * Class predictions of a single-input classifier: argmax over the last dimension of the first output.
     *
     * @throws QuantBridgeException if ONNX Runtime fails
     */
    public long[] predictArgmax(float[] data, long[] shape) throws QuantBridgeException {
        return run(data, shape).argmaxLastDim();
    }

    /**
     * Class predictions: argmax over the last dimension of the first output.
     *
     * @throws QuantBridgeException if ONNX Runtime fails
     */
    public long[] predictArgmax(Map<String, FloatTensor> inputs) throws QuantBridgeException {
        return run(inputs).get(outputNames.get(0)).argmaxLastDim();
    }

    /**
     * Runs two models on the same inputs and compares their first outputs.
     *
     * @throws QuantBridgeException if either model cannot be loaded or run
     */
    public static Comparison compare(ModelProto a, ModelProto b, List<Map<String, FloatTensor>> inputs)
            throws QuantBridgeException {
        try (OrtSessionRunner ra = new OrtSessionRunner(a); OrtSessionRunner rb = new OrtSessionRunner(b)) {
            return compare(ra, rb, inputs);
        }
    }

    /**
     * Runs two model files on the same inputs and compares their first outputs.
     *
     * @throws QuantBridgeException if either model cannot be loaded or run
     */
    public static Comparison compare(Path a, Path b, List<Map<String, FloatTensor>> inputs)
            throws QuantBridgeException {
        try (OrtSessionRunner ra = new OrtSessionRunner(a); OrtSessionRunner rb = new OrtSessionRunner(b)) {
            return compare(ra, rb, inputs);
        }
    }

    /**
     * Compares the first outputs of two open runners on the same inputs.
     *
     * @throws IllegalArgumentException if the output shapes differ
     * @throws QuantBridgeException if a run fails
     */
    public static Comparison compare(OrtSessionRunner a, OrtSessionRunner b, List<Map<String, FloatTensor>> inputs)
            throws QuantBridgeException {
        List<FloatTensor> xs = new java.util.ArrayList<>();
        List<FloatTensor> ys = new java.util.ArrayList<>();
        for (Map<String, FloatTensor> in : inputs) {
            xs.add(a.run(in).get(a.outputNames().get(0)));
            ys.add(b.run(in).get(b.outputNames().get(0)));
        }
        return compare(xs, ys);
    }

    /**
     * Compares two models' outputs given as tensors (pairwise, same shapes): argmax agreement
     * over the last dimension and absolute differences.
     *
     * @throws IllegalArgumentException if the shapes differ
     */
    public static Comparison compare(List<FloatTensor> as, List<FloatTensor> bs) {
        if (as.size() != bs.size()) {
            throw new IllegalArgumentException("compare needs as many outputs on both sides, got " + as.size() + " and " + bs.size());
        }
        long rows = 0;
        long agree = 0;
        long values = 0;
        double max = 0;
        double sum = 0;
        double diff2 = 0;
        double ref2 = 0;
        for (int k = 0; k < as.size(); k++) {
            FloatTensor x = as.get(k);
            FloatTensor y = bs.get(k);
            if (!java.util.Arrays.equals(x.shape(), y.shape())) {
                throw new IllegalArgumentException("output shapes differ: " + java.util.Arrays.toString(x.shape())
                        + " vs " + java.util.Arrays.toString(y.shape()) + "; expected the same model interface");
            }
            long[] ax = x.argmaxLastDim();
            long[] ay = y.argmaxLastDim();
            for (int i = 0; i < ax.length; i++) {
                agree += ax[i] == ay[i] ? 1 : 0;
            }
            rows += ax.length;
            for (int i = 0; i < x.data().length; i++) {
                double d = Math.abs((double) x.data()[i] - y.data()[i]);
                max = Math.max(max, d);
                sum += d;
                diff2 += d * d;
                ref2 += (double) y.data()[i] * y.data()[i];
            }
            values += x.data().length;
        }
        return new Comparison(rows, rows == 0 ? Double.NaN : (double) agree / rows, max,
                values == 0 ? Double.NaN : sum / values, ref2 == 0 ? (diff2 == 0 ? 0 : Double.POSITIVE_INFINITY)
                        : Math.sqrt(diff2 / ref2));
    }

    /**
     * The result of {@link #compare}.
     *
     * @param rows rows compared (batch rows of the first output)
     * @param agreement fraction of rows whose argmax agrees, 0..1
     * @param maxAbsDiff largest absolute difference of any output value
     * @param meanAbsDiff mean absolute difference of the output values
     * @param relativeError {@code ||a - b|| / ||b||} over all output values (b: the second argument)
     */
    public record Comparison(long rows, double agreement, double maxAbsDiff, double meanAbsDiff,
                             double relativeError) {
    }

    private static FloatTensor toFloat(String name, OnnxValue value) throws QuantBridgeException {
        if (!(value instanceof OnnxTensor t) || t.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) {
            throw new QuantBridgeException("output " + name + " is " + value.getInfo()
                    + "; expected a float tensor");
        }
        TensorInfo info = t.getInfo();
        FloatBuffer buf = t.getFloatBuffer();
        float[] data = new float[buf.remaining()];
        buf.get(data);
        return new FloatTensor(data, info.getShape());
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this OrtSessionRunner is closed");
        }
    }

    /**
     * Closes the session (not the shared environment); a second call does nothing.
     *
     * @throws IllegalStateException if ONNX Runtime reports an error while releasing the session
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the ONNX Runtime session failed: " + e.getMessage(), e);
        }
    }
}
