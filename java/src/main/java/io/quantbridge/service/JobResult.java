package io.quantbridge.service;

import io.quantbridge.params.QuantParams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a {@link QuantJob} produced, the same in both modes.
 *
 * @param params the exported scales and ranges (also in the parameter file)
 * @param files the exported files, in the order the exporter names them (PyTorch: float ONNX,
 *     INT8 QDQ ONNX, parameter file; TensorFlow: frozen .pb, parameter file)
 * @param calibratedBatches batches seen by calibration (0 without calibration)
 * @param trainResult what the training function returned, as JSON-like values (empty without training)
 */
public record JobResult(QuantParams params, List<Path> files, long calibratedBatches, Map<String, Object> trainResult) {
    /** Copies the lists. */
    public JobResult {
        files = List.copyOf(files);
        trainResult = trainResult == null ? Map.of() : trainResult;
    }

    /** The exported file whose name ends with {@code suffix} ({@code "_int8.onnx"}, {@code ".pb"}, ...). */
    public Path file(String suffix) {
        return files.stream().filter(p -> p.getFileName().toString().endsWith(suffix)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no exported file ends with '" + suffix + "'; files: " + files));
    }
}
