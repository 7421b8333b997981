package io.quantbridge.tf;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.params.QuantParams;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.export.StagedOutput;
import io.quantbridge.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.stream.Stream;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One TensorFlow graph and its {@code tf.compat.v1.Session}, living in Python: the float graph,
 * or, after {@link TfQuantizer#optimize}, the graph rewritten with fake quant and the vendor's
 * {@code quant_flag} / {@code is_train_flag} placeholders.
 */
public final class TfSession implements AutoCloseable {
    private final PythonRuntime rt;
    private final PyHandle handle;
    private final TfProject project;
    private final QuantConfig config;
    private boolean closed;

    TfSession(PythonRuntime rt, PyHandle handle, TfProject project, QuantConfig config) {
        this.rt = rt;
        this.handle = handle;
        this.project = project;
        this.config = config;
    }

    /** The Python {@code GraphSession} (its {@code sess}, {@code graph} and {@code info}). */
    public PyHandle handle() {
        return handle;
    }

    /** The config of the rewrite, empty for a float session. */
    public Optional<QuantConfig> config() {
        return Optional.ofNullable(config);
    }

    /** Initialises every variable (to train a float model from scratch). */
    public void initialize() throws QuantBridgeException {
        rt.callMethod(handle, "initialize");
    }

    /** Restores the original float checkpoint (after a rewrite: only the original variables). */
    public void restoreFloat(Path ckpt) throws QuantBridgeException {
        rt.callMethod(handle, config == null ? "restore" : "restore_float", ckpt.toString());
    }

    /** Restores every variable from a checkpoint saved by {@link #save}. */
    public void restore(Path ckpt) throws QuantBridgeException {
        rt.callMethod(handle, "restore", ckpt.toString());
    }

    /** Saves a checkpoint (weights, and ranges after a rewrite); returns its prefix. */
    public Path save(Path prefix) throws QuantBridgeException {
        return Path.of(String.valueOf(rt.callMethod(handle, "save", prefix.toAbsolutePath().toString())));
    }

    /**
     * Saves a checkpoint all or nothing: its files are written in a staging directory beside
     * {@code prefix}, then put in place (the {@code .index} last), and the directory's
     * {@code checkpoint} state file is pointed at it. Without {@code overwrite} no existing file is
     * replaced, also none that another run wrote while this one was working.
     *
     * @return the prefix
     * @throws QuantBridgeException if the checkpoint exists (or appeared) and overwrite is off, or
     *     the save fails
     */
    public Path save(Path prefix, boolean overwrite) throws QuantBridgeException {
        Path dir = prefix.toAbsolutePath().getParent();
        String base = prefix.getFileName().toString();
        try (StagedOutput out = StagedOutput.open(dir, List.of(base + ".index"), overwrite)) {
            save(out.staged(base));
            List<String> files = new ArrayList<>();
            try (Stream<Path> staged = Files.list(out.dir())) {
                staged.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith(base + ".data-"))
                        .sorted()
                        .forEach(files::add);
            } catch (IOException e) {
                throw new QuantBridgeException("saving the checkpoint " + prefix + " failed: " + e, e);
            }
            files.add(base + ".index");
            out.commit(files);
        }
        String quoted = "\"" + base.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        AtomicFiles.writeString(dir.resolve("checkpoint"), "model_checkpoint_path: " + quoted
                + "\nall_model_checkpoint_paths: " + quoted + "\n");
        return prefix;
    }

    /**
     * Calibration: calibration mode on, forward passes (quant_flag=1) over the batches returned by
     * the user's {@code dataFunction}, calibration mode off.
     *
     * @param maxBatches at most this many batches, or 0 for all
     */
    public long calibrate(String dataFunction, Map<String, Object> kwargs, int maxBatches, ProgressListener listener)
            throws QuantBridgeException {
        requireRewritten("calibrate");
        try (PyHandle batches = (PyHandle) rt.call("quantbridge._java_support:call_user_held",
                List.of(dataFunction, List.of(), kwargs, "calibrate"), Map.of(), listener)) {
            Map<String, Object> options = maxBatches > 0 ? Map.of("max_batches", maxBatches, "source", dataFunction)
                    : Map.of("source", dataFunction);
            Object n = rt.callMethod(handle, "calibrate", List.of(batches, project.input(), project.outputs()), options,
                    listener);
            return ((Number) n).longValue();
        }
    }

    /**
     * Calls the user's {@code function(sess, info, **kwargs)}: training (with
     * {@code quant_flag=1, is_train_flag=True} in kwargs for retraining), evaluation, anything.
     * {@code info} holds the builder's tensor names plus {@code quant_flag} and {@code is_train_flag}.
     */
    public Object call(String function, Map<String, Object> kwargs, String phase, ProgressListener listener)
            throws QuantBridgeException {
        return rt.callMethod(handle, "call", List.of(function, kwargs, phase), Map.of(), listener);
    }

    /** The model output for {@code x} in inference mode ({@code quantized}: quant_flag 1 or 0). */
    public Object predict(Object x, String output, boolean quantized) throws QuantBridgeException {
        return rt.callMethod(handle, "predict", List.of(x, project.input(), output, quantized), Map.of(), null);
    }

    /** Scales and ranges of every layer, pulled into Java. */
    public QuantParams params() throws QuantBridgeException {
        requireRewritten("params");
        PyHandle sess = (PyHandle) rt.getAttr(handle, "sess");
        try (sess) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> layers = (List<Map<String, Object>>) rt.call("quantbridge.tf:quant_params", sess);
            return QuantParams.fromLayerMaps("tensorflow", layers);
        }
    }

    private void requireRewritten(String what) {
        if (config == null) {
            throw new IllegalStateException(what + " needs a session rewritten by TfQuantizer.optimize");
        }
    }

    /** Closes the TensorFlow session and releases the Python object; safe to call twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            rt.callMethod(handle, "close");
        } catch (QuantBridgeException | RuntimeException e) {
            // the interpreter collects it anyway
        }
        handle.close();
    }
}
