package io.quantbridge.torch;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A quantized PyTorch model living in Python (the vendor's {@code quant_model}), with the config it
 * was made from. Calibration and retraining run the user's own functions on it.
 */
public final class QuantModel implements AutoCloseable {
    private final PythonRuntime rt;
    private final PyHandle handle;
    private final QuantConfig config;

    QuantModel(PythonRuntime rt, PyHandle handle, QuantConfig config) {
        this.rt = rt;
        this.handle = handle;
        this.config = config;
    }

    /** The Python object, for passing to other calls. */
    public PyHandle handle() {
        return handle;
    }

    /** The validated config this model was quantized with. */
    public QuantConfig config() {
        return config;
    }

    /**
     * Post-training calibration: forward passes over the batches returned by the user's
     * {@code dataFunction} (an iterable of tensors or (inputs, targets) pairs); no weights change.
     *
     * @param maxBatches at most this many batches, or 0 for all
     * @return the number of batches seen
     */
    public long calibrate(String dataFunction, Map<String, Object> kwargs, int maxBatches, ProgressListener listener)
            throws QuantBridgeException {
        try (PyHandle batches = asHandle(rt.call("quantbridge._java_support:call_user_held",
                List.of(dataFunction, List.of(), kwargs, "calibrate"), Map.of(), listener), dataFunction)) {
            return calibrate(batches, maxBatches, listener);
        }
    }

    /** Calibration over an iterable already held in Python. */
    public long calibrate(PyHandle batches, int maxBatches, ProgressListener listener) throws QuantBridgeException {
        Object n = rt.call("quantbridge.torch:calibrate", List.of(handle, batches),
                maxBatches > 0 ? Map.of("max_batches", maxBatches) : Map.of(), listener);
        return ((Number) n).longValue();
    }

    /**
     * Retraining: calls the user's {@code trainFunction(quant_model, **kwargs)} (with
     * {@code progress=} when it accepts one) and returns what it returns, once the model is checked:
     * every layer the config quantizes is still quantized and no weight or scale is NaN/Inf. Under a
     * torch.distributed process group of several ranks the model arrives wrapped in
     * {@code DistributedDataParallel}.
     *
     * @throws QuantBridgeException a {@code ModelError} if the function replaced or removed a quantized
     *     layer, a {@code DivergedError} if training left NaN/Inf, or the function's own error
     */
    public Object train(String trainFunction, Map<String, Object> kwargs, ProgressListener listener)
            throws QuantBridgeException {
        return rt.call("quantbridge._java_support:call_train", List.of(trainFunction, handle, kwargs), Map.of(), listener);
    }

    /** The current scales and ranges of every layer, pulled into Java. */
    public QuantParams params() throws QuantBridgeException {
        Object layers = rt.call("quantbridge.torch:quant_params", handle);
        return QuantParams.fromLayerMaps("torch", asList(layers));
    }

    /** An independent deep copy (the PTQ model as the start of QAT, say). */
    public QuantModel copy() throws QuantBridgeException {
        return new QuantModel(rt, asHandle(rt.call("quantbridge._java_support:deepcopy", handle), "deepcopy"), config);
    }

    /**
     * Saves {@code quant_model.state_dict()} to {@code pth} (atomically); a state holding NaN or Inf
     * is refused ({@code DivergedError}) and an existing file stays as it was.
     */
    public Path saveState(Path pth) throws QuantBridgeException {
        rt.call("quantbridge._java_support:save_torch_state", handle, pth.toAbsolutePath().toString());
        return pth;
    }

    /**
     * Saves {@code quant_model.state_dict()} to {@code pth}, all or nothing: written in a staging
     * directory beside it, then put in place. Without {@code overwrite} an existing file is never
     * replaced, also one that another run wrote while this one was working.
     *
     * @throws QuantBridgeException if {@code pth} exists (or appeared) and overwrite is off, or the
     *     write fails
     */
    public Path saveState(Path pth, boolean overwrite) throws QuantBridgeException {
        Path dir = pth.toAbsolutePath().getParent();
        String name = pth.getFileName().toString();
        try (io.quantbridge.export.StagedOutput out = io.quantbridge.export.StagedOutput.open(dir, List.of(name), overwrite)) {
            saveState(out.staged(name));
            out.commit();
        }
        return pth;
    }

    /** The differentiable quantization loss right now (see {@code get_quant_loss}). */
    public double quantLoss() throws QuantBridgeException {
        return ((Number) rt.call("quantbridge.torch:get_quant_loss", handle)).doubleValue();
    }

    @Override
    public void close() {
        handle.close();
    }

    static PyHandle asHandle(Object o, String what) throws QuantBridgeException {
        if (o instanceof PyHandle h) {
            return h;
        }
        throw new QuantBridgeException(what + " returned " + (o == null ? "None" : o.getClass().getSimpleName())
                + "; expected a Python object (a model, or an iterable of batches)");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> asList(Object o) {
        return (List<Map<String, Object>>) o;
    }
}
