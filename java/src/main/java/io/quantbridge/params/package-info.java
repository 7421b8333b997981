/**
 * Quantization parameters on the Java side: the records of the parameter file
 * ({@link io.quantbridge.params.QuantParams}), the file itself
 * ({@link io.quantbridge.params.ParamFile}, the same bytes and key order as the shim's
 * {@code quantbridge.common.paramfile}) and the scale / zero-point arithmetic
 * ({@link io.quantbridge.params.QParamMath}, bit-compatible with {@code quantbridge.common.qparams}).
 */
package io.quantbridge.params;
