package io.quantbridge.demo;

/**
 * One line of the demo table.
 *
 * @param framework "PyTorch" or "TensorFlow"
 * @param stage float, PTQ, QAT, exported model
 * @param accuracy top-1 accuracy on the digits test split, percent
 * @param file the model file of that stage, or null
 * @param bytes its size, or -1
 * @param seconds time the stage took
 * @param latencyMs ONNX Runtime's median time for one run of the model file on the test batch
 *     (2 intra-op threads), NaN when not measured
 */
public record DemoRow(String framework, String stage, double accuracy, String file, long bytes, double seconds,
                      double latencyMs) {
    /** A row without a latency. */
    public DemoRow(String framework, String stage, double accuracy, String file, long bytes, double seconds) {
        this(framework, stage, accuracy, file, bytes, seconds, Double.NaN);
    }
}
