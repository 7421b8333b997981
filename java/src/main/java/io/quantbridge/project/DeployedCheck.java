package io.quantbridge.project;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.onnx.CpuFeatures;
import io.quantbridge.onnx.FloatTensor;
import io.quantbridge.onnx.OnnxInspector;
import io.quantbridge.onnx.OnnxModels;
import io.quantbridge.onnx.OrtSessionRunner;
import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import jep.NDArray;

/**
 * A file that gets deployed, run on the user's batches: the INT8 QDQ ONNX in ONNX Runtime (Java)
 * (PyTorch and TensorFlow) or the frozen {@code .pb} in a fresh graph (TensorFlow), compared with the quantized model in Python (the
 * share of inputs whose top-1 class agrees), and scored against the batches' labels when they
 * carry them.
 *
 * @param file the deployed file
 * @param runner what ran it
 * @param inputs inputs compared
 * @param agreement percent of inputs whose argmax agrees with the quantized model
 * @param accuracy top-1 percent against the labels, or null when the batches carry none
 */
public record DeployedCheck(Path file, String runner, long inputs, double agreement, Double accuracy) {
    /** Runs one batch through the deployed file and through the quantized model. */
    @FunctionalInterface
    interface Outputs {
        /** {@code [deployed, quantized]} outputs for the batch whose model inputs are {@code xs}, in model order. */
        FloatTensor[] run(List<NDArray<float[]>> xs) throws QuantBridgeException;
    }

    /**
     * The batches behind {@code batches} (a Python iterable, read once) as {@code [[inputs], labels]}
     * items, checked in the shim to give one array per name of {@code inputs} (the model's inputs
     * in order; a {@code DataError} naming {@code dataFunction} and the batch otherwise). Read
     * before anything is written.
     */
    static List<?> read(PythonRuntime rt, PyHandle batches, List<String> inputs, String dataFunction)
            throws QuantBridgeException {
        return (List<?>) rt.call("quantbridge._deployed:labelled_batches", batches, inputs,
                "data function " + dataFunction);
    }

    /**
     * The line the command line prints; for an INT8 ONNX with int8 weights on a CPU where ONNX
     * Runtime's u8*s8 kernels can saturate ({@link CpuFeatures}), a second line saying so.
     */
    public String describe() {
        String s = String.format(Locale.ROOT, "deployed %s (%s): agrees with the quantized model on %.2f%% of %d inputs",
                file.getFileName(), runner, agreement, inputs);
        s = accuracy == null ? s : s + String.format(Locale.ROOT, "; top-1 %.2f%% against the batches' labels",
                accuracy);
        if (signedWeights(file) && CpuFeatures.u8s8CanSaturate().orElse(false)) {
            s += System.lineSeparator() + "note: " + file.getFileName() + " has int8 weights and this CPU has no VNNI: "
                    + "ONNX Runtime's u8*s8 kernels can saturate here (VPMADDUBSW), so its numbers may differ from the "
                    + "quantized model's; \"onnx_weight_type\": \"uint8\" in the config's \"quantbridge\" section "
                    + "gives a file exact on every CPU";
        }
        return s;
    }

    /** True for an ONNX file with a quantized layer whose weight codes are int8. */
    private static boolean signedWeights(Path file) {
        if (!file.getFileName().toString().endsWith(".onnx")) {
            return false;
        }
        try {
            return OnnxInspector.quantizedLayers(OnnxModels.load(file)).stream()
                    .anyMatch(l -> "int8".equals(l.weight().dtype()));
        } catch (QuantBridgeException | RuntimeException e) {
            return false;
        }
    }

    /** One deployed file to check: what runs it, and how a batch goes through it and the quantized model. */
    record Deployed(Path file, String runner, Outputs outputs) { }

    /** Runs {@code outputs} over every batch of {@code list} ({@link #read}). */
    static DeployedCheck run(List<?> list, Path file, String runner, Outputs outputs) throws QuantBridgeException {
        return runAll(list, List.of(new Deployed(file, runner, outputs))).get(0);
    }

    /** Runs every one of {@code files} over the batches of {@code list} ({@link #read}), one check per file, in order. */
    @SuppressWarnings("unchecked")
    static List<DeployedCheck> runAll(List<?> list, List<Deployed> files) throws QuantBridgeException {
        List<DeployedCheck> out = new ArrayList<>();
        for (Deployed d : files) {
            long rows = 0;
            long agree = 0;
            long labelled = 0;
            long correct = 0;
            for (Object item : list) {
                List<?> pair = (List<?>) item;
                List<NDArray<float[]>> xs = (List<NDArray<float[]>>) pair.get(0);
                FloatTensor[] result = d.outputs().run(xs);
                long[] deployed = argmax(result[0]);
                long[] quantized = argmax(result[1]);
                for (int i = 0; i < deployed.length; i++) {
                    agree += deployed[i] == quantized[i] ? 1 : 0;
                }
                rows += deployed.length;
                if (pair.get(1) instanceof NDArray<?> y && y.getData() instanceof long[] labels
                        && labels.length == deployed.length) {
                    for (int i = 0; i < labels.length; i++) {
                        correct += deployed[i] == labels[i] ? 1 : 0;
                    }
                    labelled += labels.length;
                }
            }
            if (rows == 0) {
                throw new QuantBridgeException("--data gave no batches to check the deployed " + d.file().getFileName()
                        + " on; expected at least one batch");
            }
            out.add(new DeployedCheck(d.file(), d.runner(), rows, 100.0 * agree / rows,
                    labelled == rows ? 100.0 * correct / labelled : null));
        }
        return out;
    }

    /** Row-wise argmax of the first output, read as {@code [rows, classes...]}. */
    private static long[] argmax(FloatTensor t) {
        long[] shape = t.shape();
        int rows = shape.length == 0 ? 1 : (int) shape[0];
        int width = rows == 0 ? 0 : t.data().length / rows;
        long[] out = new long[rows];
        for (int r = 0; r < rows; r++) {
            int best = 0;
            for (int c = 1; c < width; c++) {
                if (t.data()[r * width + c] > t.data()[r * width + best]) {
                    best = c;
                }
            }
            out[r] = best;
        }
        return out;
    }

    /** Reads a numpy result as a tensor (the first output of a multi-output model). */
    static FloatTensor tensor(Object value) {
        Object v = value instanceof List<?> l ? l.get(0) : value;
        NDArray<?> a = (NDArray<?>) v;
        return FloatTensor.of((float[]) a.getData(), a.getDimensions());
    }

    /**
     * ONNX Runtime (Java) on the file: {@code xs} feed the file's inputs in order (inputs with a
     * default, ONNX initializers of the same name, are not among them); the first output.
     *
     * @throws QuantBridgeException if the file takes another number of inputs
     */
    static FloatTensor ort(OrtSessionRunner ort, List<NDArray<float[]>> xs) throws QuantBridgeException {
        List<String> names = ort.inputNames();
        if (names.size() != xs.size()) {
            throw new QuantBridgeException("the deployed ONNX takes " + names.size() + " input(s) " + names
                    + " but the batch gives " + xs.size() + "; expected one array per input, in this order");
        }
        Map<String, FloatTensor> feed = new LinkedHashMap<>();
        for (int i = 0; i < xs.size(); i++) {
            feed.put(names.get(i), FloatTensor.of(xs.get(i).getData(), xs.get(i).getDimensions()));
        }
        return ort.run(feed).get(ort.outputNames().get(0));
    }
}
