package io.quantbridge.demo;

import java.nio.file.Path;

/**
 * Settings of the demo.
 *
 * @param outDir where the files go ({@code torch/} and {@code tf/} inside)
 * @param floatEpochs epochs of float training
 * @param qatEpochs epochs of quantization-aware retraining
 * @param calibration calibration method: minmax, percentile or mse
 */
public record DemoOptions(Path outDir, int floatEpochs, int qatEpochs, String calibration) { }
