/**
 * Automatic mixed precision: measure how much each quantized layer hurts the model (output SQNR,
 * or the user's evaluation metric) and choose the fewest layers to keep in float for a
 * {@link io.quantbridge.sensitivity.Target}. {@link io.quantbridge.sensitivity.SensitivityAnalyzer}
 * runs the shim's {@code quantbridge.sensitivity} for PyTorch or TensorFlow and returns a
 * {@link io.quantbridge.sensitivity.SensitivityResult} with the new config.
 */
package io.quantbridge.sensitivity;
