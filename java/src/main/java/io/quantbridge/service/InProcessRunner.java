package io.quantbridge.service;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.CancelledException;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.runtime.StopRequest;
import io.quantbridge.tf.TfExport;
import io.quantbridge.tf.TfProject;
import io.quantbridge.tf.TfQuantizer;
import io.quantbridge.tf.TfSession;
import io.quantbridge.torch.QuantModel;
import io.quantbridge.torch.TorchExport;
import io.quantbridge.torch.TorchProject;
import io.quantbridge.torch.TorchQuantizer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs jobs in this JVM's embedded CPython (the CLI, scripts, tests, and the code every worker
 * runs). Jobs share the one interpreter: two projects with the same package name collide here,
 * and a crash in user code ends the JVM; {@link QuantBridgeService} isolates them.
 *
 * <p>Cancellation reaches Python at the next progress event or calibration batch: interrupt the
 * calling thread, or return false from the listener.
 */
public final class InProcessRunner implements JobRunner {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PythonRuntime rt;

    /** A runner over an open runtime (the caller keeps owning it). */
    public InProcessRunner(PythonRuntime rt) {
        this.rt = rt;
    }

    @Override
    public JobResult run(QuantJob job, JobListener listener) throws QuantBridgeException {
        JobListener l = listener == null ? JobListener.NONE : listener;
        ProgressListener progress = e -> {
            if (!l.onProgress(e)) {
                throw new StopRequest("at " + e.phase() + " " + e.current() + "/" + e.total());
            }
        };
        QuantConfig config = QuantConfig.parse(job.config());
        return job.framework() == Framework.TORCH ? torch(job, config, progress) : tf(job, config, progress);
    }

    private JobResult torch(QuantJob job, QuantConfig config, ProgressListener progress) throws QuantBridgeException {
        TorchQuantizer q = new TorchQuantizer(rt, new TorchProject(job.pythonPath(), job.model(), job.modelArgs()));
        checkInterrupt();
        try (PyHandle model = q.newFloatModel()) {
            if (job.floatWeights() != null) {
                rt.call("quantbridge._cli_support:load_float_weights", model, job.floatWeights().toString());
            }
            try (QuantModel qm = q.optimize(model, config)) {
                long batches = 0;
                if (job.data() != null) {
                    checkInterrupt();
                    batches = qm.calibrate(job.data(), job.dataArgs(), job.batches(), progress);
                }
                Map<String, Object> trained = Map.of();
                if (job.train() != null) {
                    checkInterrupt();
                    trained = plain(qm.train(job.train(), job.trainArgs(), progress));
                }
                checkInterrupt();
                TorchExport files = q.export(qm, job.outDir(), job.name(), job.overwrite(), progress);
                return new JobResult(files.params(), List.of(files.floatOnnx(), files.int8Onnx(), files.paramFile()),
                        batches, trained);
            }
        }
    }

    private JobResult tf(QuantJob job, QuantConfig config, ProgressListener progress) throws QuantBridgeException {
        TfQuantizer q = new TfQuantizer(rt, new TfProject(job.pythonPath(), job.model(), job.modelArgs(),
                job.input(), job.outputs()));
        checkInterrupt();
        try (TfSession s = q.optimize(config, job.floatWeights())) {
            long batches = 0;
            if (job.data() != null) {
                checkInterrupt();
                batches = s.calibrate(job.data(), job.dataArgs(), job.batches(), progress);
            }
            Map<String, Object> trained = Map.of();
            if (job.train() != null) {
                checkInterrupt();
                Map<String, Object> kwargs = new LinkedHashMap<>(job.trainArgs());
                kwargs.putIfAbsent("quant_flag", 1);
                kwargs.putIfAbsent("is_train_flag", true);
                trained = plain(s.call(job.train(), kwargs, "train", progress));
            }
            checkInterrupt();
            TfExport files = q.export(s, job.outDir(), job.name(), job.overwrite(), progress);
            return new JobResult(files.params(), List.of(files.frozenPb(), files.floatOnnx(), files.int8Onnx(),
                    files.paramFile()), batches, trained);
        }
    }

    private static void checkInterrupt() throws CancelledException {
        if (Thread.currentThread().isInterrupted()) {
            throw new CancelledException("stopped: the calling thread was interrupted", null);
        }
    }

    /**
     * The training function's return value as JSON-like values (maps, lists, numbers, strings),
     * the form both modes return; a Python object without one becomes its description.
     */
    static Map<String, Object> plain(Object v) {
        if (v instanceof PyHandle h) {
            h.close();
            return Map.of("value", h.toString());
        }
        Object tree = v instanceof Map<?, ?> ? v : (v == null ? Map.of() : Map.of("value", v));
        try {
            return JSON.readValue(JSON.writeValueAsString(tree), new TypeReference<LinkedHashMap<String, Object>>() { });
        } catch (java.io.IOException e) {
            return Map.of("value", String.valueOf(v));
        }
    }
}
