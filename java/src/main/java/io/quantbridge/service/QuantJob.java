package io.quantbridge.service;

import io.quantbridge.config.Framework;
import io.quantbridge.config.QuantConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One quantization job, the same for both ways of running it: quantize the user's model as the
 * config says, optionally calibrate it on the user's data and retrain it with the user's training
 * function, then export the deployable files all-or-nothing into {@code outDir}.
 *
 * <p>PyTorch: {@code model} is the factory ({@code build(**modelArgs)}), {@code floatWeights} an
 * optional float {@code state_dict} .pth, {@code train(quant_model, **trainArgs)}. TensorFlow:
 * {@code model} is the graph builder, {@code floatWeights} the float checkpoint (required),
 * {@code input}/{@code outputs} the tensor and node names, {@code train(sess, info, quant_flag=1,
 * is_train_flag=True, **trainArgs)}. Build one with {@link #torch} or {@link #tensorflow}.
 *
 * @param framework the model's framework
 * @param pythonPath directories put at the front of {@code sys.path} (the user's project root)
 * @param model {@code package.module:function}: the model factory or graph builder
 * @param modelArgs keyword arguments for it
 * @param input TensorFlow: the input tensor name; null for PyTorch
 * @param outputs TensorFlow: the output node names; empty for PyTorch
 * @param config the quantization config (vendor JSON text)
 * @param floatWeights float weights (.pth) or checkpoint prefix; may be null for PyTorch
 * @param data the calibration data function, or null to skip calibration
 * @param dataArgs keyword arguments for it
 * @param batches at most this many calibration batches, 0 for all
 * @param train the training function for retraining (QAT), or null to skip it
 * @param trainArgs keyword arguments for it
 * @param outDir the existing directory the files go to
 * @param name the base name of the exported files (letters, digits, {@code _})
 * @param overwrite replace existing files of the same names
 */
public record QuantJob(Framework framework, List<Path> pythonPath, String model, Map<String, Object> modelArgs,
                       String input, List<String> outputs, String config, Path floatWeights,
                       String data, Map<String, Object> dataArgs, int batches,
                       String train, Map<String, Object> trainArgs,
                       Path outDir, String name, boolean overwrite) {
    private static final Pattern TARGET = Pattern.compile("[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_]+");

    /**
     * Checks the job's form (not the files: those are checked where the job runs).
     *
     * @throws IllegalArgumentException naming the field and the value that does not fit
     */
    public QuantJob {
        Objects.requireNonNull(framework, "framework");
        pythonPath = pythonPath == null ? List.of() : pythonPath.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        modelArgs = copy(modelArgs);
        dataArgs = copy(dataArgs);
        trainArgs = copy(trainArgs);
        outputs = outputs == null ? List.of() : List.copyOf(outputs);
        target("model", model, false);
        target("data", data, true);
        target("train", train, true);
        if (config == null || config.isBlank()) {
            throw new IllegalArgumentException("job config is required (the quantization config's JSON)");
        }
        if (batches < 0) {
            throw new IllegalArgumentException("job batches must be >= 0 (0 = all), got " + batches);
        }
        if (outDir == null) {
            throw new IllegalArgumentException("job outDir is required (an existing directory)");
        }
        outDir = outDir.toAbsolutePath().normalize();
        floatWeights = floatWeights == null ? null : floatWeights.toAbsolutePath().normalize();
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("job name '" + name + "' must contain only letters, digits and underscores");
        }
        if (framework == Framework.TENSORFLOW) {
            if (input == null || input.isBlank() || outputs.isEmpty()) {
                throw new IllegalArgumentException("a TensorFlow job needs the input tensor name and at least one output node name");
            }
            if (floatWeights == null) {
                throw new IllegalArgumentException("a TensorFlow job needs the float checkpoint (floatWeights)");
            }
        }
    }

    private static void target(String field, String value, boolean optional) {
        if (value == null && optional) {
            return;
        }
        if (value == null || !TARGET.matcher(value).matches()) {
            throw new IllegalArgumentException("job " + field + " must be 'package.module:function', got '" + value + "'");
        }
    }

    private static Map<String, Object> copy(Map<String, Object> m) {
        return m == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    /** A PyTorch job builder: {@code model} is the factory {@code package.module:function}. */
    public static Builder torch(String model, QuantConfig config) {
        return new Builder(Framework.TORCH, model, config);
    }

    /** A TensorFlow job builder: {@code graphBuilder} makes the float graph; input and outputs name its tensors. */
    public static Builder tensorflow(String graphBuilder, String input, List<String> outputs, QuantConfig config) {
        Builder b = new Builder(Framework.TENSORFLOW, graphBuilder, config);
        b.input = input;
        b.outputs = List.copyOf(outputs);
        return b;
    }

    /** Builds a {@link QuantJob} step by step. */
    public static final class Builder {
        private final Framework framework;
        private final String model;
        private final String config;
        private final List<Path> pythonPath = new ArrayList<>();
        private Map<String, Object> modelArgs = Map.of();
        private String input;
        private List<String> outputs = List.of();
        private Path floatWeights;
        private String data;
        private Map<String, Object> dataArgs = Map.of();
        private int batches;
        private String train;
        private Map<String, Object> trainArgs = Map.of();
        private Path outDir;
        private String name = "model";
        private boolean overwrite;

        private Builder(Framework framework, String model, QuantConfig config) {
            this.framework = framework;
            this.model = model;
            this.config = config.toJson();
        }

        /** Adds directories to {@code sys.path} (the project's root). */
        public Builder pythonPath(Path... dirs) {
            pythonPath.addAll(List.of(dirs));
            return this;
        }

        /** Keyword arguments of the model factory or graph builder. */
        public Builder modelArgs(Map<String, Object> args) {
            modelArgs = args;
            return this;
        }

        /** Float weights (.pth, PyTorch) or the float checkpoint prefix (TensorFlow). */
        public Builder floatWeights(Path path) {
            floatWeights = path;
            return this;
        }

        /** Calibrates over at most {@code maxBatches} (0: all) batches of {@code dataFunction(**args)}. */
        public Builder calibrate(String dataFunction, Map<String, Object> args, int maxBatches) {
            data = dataFunction;
            dataArgs = args;
            batches = maxBatches;
            return this;
        }

        /** Retrains with {@code trainFunction} and keyword arguments {@code args}. */
        public Builder train(String trainFunction, Map<String, Object> args) {
            train = trainFunction;
            trainArgs = args;
            return this;
        }

        /** Exports into the existing directory {@code dir} under base name {@code name}. */
        public Builder export(Path dir, String baseName, boolean replace) {
            outDir = dir;
            name = baseName;
            overwrite = replace;
            return this;
        }

        /** The job. @throws IllegalArgumentException if a field does not fit */
        public QuantJob build() {
            return new QuantJob(framework, pythonPath, model, modelArgs, input, outputs, config, floatWeights,
                    data, dataArgs, batches, train, trainArgs, outDir, name, overwrite);
        }
    }
}
