package io.quantbridge.project;

import io.quantbridge.runtime.Targets;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Calibration;
import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.config.Strategies;
import io.quantbridge.runtime.ProgressListener;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;
import java.util.Map;

/**
 * The command line's steps on the user's project: generate the config, calibrate, retrain and
 * export, each calling the user's own functions. Every step checks its files and the user's
 * {@code module:function} targets before the long work starts, and writes nothing it was not
 * asked to overwrite.
 */
public sealed interface Workflow permits TorchWorkflow, TfWorkflow {
    /**
     * Calibration (post-training quantization).
     *
     * @param dataFunction {@code module:function} returning an iterable of batches
     * @param dataArgs its keyword arguments
     * @param batches at most this many batches, 0 for all
     * @param floatWeights PyTorch: a float {@code state_dict} .pth (optional); TensorFlow: the
     *     float checkpoint prefix (required)
     * @param out PyTorch: the quant state .pth; TensorFlow: the checkpoint prefix to save
     * @param force replace existing output
     * @param evalFunction {@code module:function} returning an accuracy, or null
     * @param report the per-layer report to write after calibrating, or null
     */
    record Calibrate(String dataFunction, Map<String, Object> dataArgs, int batches, Path floatWeights, Path out,
                     boolean force, String evalFunction, Report report) {
        /** Copies the arguments. */
        public Calibrate {
            dataArgs = Map.copyOf(dataArgs);
        }
    }

    /**
     * Retraining (quantization-aware training).
     *
     * @param trainFunction {@code module:function}: PyTorch {@code fn(quant_model, **args)},
     *     TensorFlow {@code fn(sess, info, quant_flag=1, is_train_flag=True, **args)}
     * @param trainArgs its keyword arguments
     * @param from a calibrated or trained quant state to start from, or null
     * @param floatWeights float weights when {@code from} is null (PyTorch optional, TensorFlow required)
     * @param out where to save the trained state
     * @param force replace existing output
     * @param evalFunction {@code module:function} returning an accuracy, or null
     * @param report the per-layer report to write after training, or null
     */
    record Train(String trainFunction, Map<String, Object> trainArgs, Path from, Path floatWeights, Path out,
                 boolean force, String evalFunction, Report report) {
        /** Copies the arguments. */
        public Train {
            trainArgs = Map.copyOf(trainArgs);
        }
    }

    /**
     * Export of the final model files and the parameter file.
     *
     * @param from the saved quant state (PyTorch .pth, TensorFlow checkpoint prefix)
     * @param outDir an existing directory
     * @param name the file stem
     * @param force replace existing files
     * @param evalFunction {@code module:function} returning an accuracy, or null
     * @param report the per-layer report of the exported state, or null
     * @param check the batches to run the deployed file on (its {@code dir} unused), or null
     */
    record Export(Path from, Path outDir, String name, boolean force, String evalFunction, Report report,
                  Report check) {
        /** An export without a deployed-file check. */
        public Export(Path from, Path outDir, String name, boolean force, String evalFunction, Report report) {
            this(from, outDir, name, force, evalFunction, report, null);
        }
    }

    /**
     * A per-layer quantization report ({@code report.json}, {@code report.html}): statistics of
     * every layer over the user's batches ({@code quantbridge.analysis}).
     *
     * @param dir an existing directory
     * @param dataFunction {@code module:function} returning an iterable of batches
     * @param dataArgs its keyword arguments
     * @param batches at most this many batches, 0 for all
     */
    record Report(Path dir, String dataFunction, Map<String, Object> dataArgs, int batches) {
        /** Copies the arguments. */
        public Report {
            dataArgs = Map.copyOf(dataArgs);
        }
    }

    /**
     * The workflow for {@code spec.framework()}: puts the project on {@code sys.path} and checks
     * the model target (module and function exist).
     *
     * @throws QuantBridgeException if the target's module or function is missing
     */
    static Workflow open(PythonRuntime rt, ProjectSpec spec, ProgressListener progress) throws QuantBridgeException {
        if (!spec.pythonPath().isEmpty()) {
            rt.addPythonPath(spec.pythonPath().toArray(Path[]::new));
        }
        Targets.check(rt, spec.model(), "--model");
        ProgressListener listener = progress == null ? ProgressListener.NONE : progress;
        return spec.framework() == Framework.TORCH ? new TorchWorkflow(rt, spec, listener)
                : new TfWorkflow(rt, spec, listener);
    }

    /**
     * The config template of the user's model: every quantizable layer at {@code float}.
     *
     * @param inputShape PyTorch: the deployed input shape {@code "x:1,3,224,224"} (required);
     *     TensorFlow: ignored
     * @throws QuantBridgeException if the shape is malformed or the user's code fails
     */
    QuantConfig generateConfig(String inputShape) throws QuantBridgeException;

    /**
     * Validates {@code config} against the model, calibrates with the user's data and saves the state.
     *
     * @throws QuantBridgeException if a file, target or the config is wrong, or the user's code fails
     */
    StepResult calibrate(QuantConfig config, Calibrate request) throws QuantBridgeException;

    /**
     * Validates {@code config}, runs the user's training function on the quant model and saves the state.
     *
     * @throws QuantBridgeException if a file, target or the config is wrong, or the user's code fails
     */
    StepResult train(QuantConfig config, Train request) throws QuantBridgeException;

    /**
     * Validates {@code config}, loads the saved state and writes the final model files and the parameter file.
     *
     * @throws QuantBridgeException if a file, target or the config is wrong, or the user's code fails
     */
    StepResult export(QuantConfig config, Export request) throws QuantBridgeException;

    /**
     * Loads a saved quant state and writes only its per-layer report.
     *
     * @param from the saved quant state (PyTorch .pth, TensorFlow checkpoint prefix)
     * @param force replace existing report files
     * @param evalFunction {@code module:function} returning an accuracy, or null
     * @throws QuantBridgeException if a file, target or the config is wrong, or the user's code fails
     */
    StepResult report(QuantConfig config, Path from, Report report, boolean force, String evalFunction)
            throws QuantBridgeException;

    /**
     * Applies the {@code config} command's edits: every supported layer to {@value Strategies#INT8}
     * when {@code quantizeAll}, and the calibration settings when given.
     *
     * @param method {@code minmax}, {@code percentile} or {@code mse}, or null to keep
     * @param percentile the percentile, or null to keep
     * @param bins the histogram bins, or null to keep
     * @return the number of layers set to INT8
     * @throws QuantBridgeException if the config's current calibration section is malformed
     * @throws IllegalArgumentException if a calibration value is out of range
     */
    static int edit(QuantConfig config, boolean quantizeAll, String method, Double percentile, Integer bins)
            throws QuantBridgeException {
        int n = quantizeAll ? config.quantizeAll(Strategies.INT8) : 0;
        if (method != null || percentile != null || bins != null) {
            Calibration now = config.calibration();
            config.setCalibration(new Calibration(method == null ? now.method() : method,
                    percentile == null ? now.percentile() : percentile, bins == null ? now.bins() : bins));
        }
        return n;
    }

    /** Layers of {@code config} not at {@code float}. */
    static int quantizedLayers(QuantConfig config) {
        return (int) config.layers().stream().filter(l -> l.isQuantized()).count();
    }
}
