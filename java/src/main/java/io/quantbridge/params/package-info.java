/**
 * Quantization parameters on the Java side: the records of the parameter file
 * ({@link io.quantbridge.params.QuantParams}) and the file itself
 * ({@link io.quantbridge.params.ParamFile}), whose schema this package owns: runs driven from Java
 * write it here, once, from the numbers the shim returns. The scales and zero points are the
 * shim's ({@code quantbridge.common.qparams}); {@link io.quantbridge.params.QParamMath} only turns
 * weights into the int8 codes the QDQ model stores.
 */
package io.quantbridge.params;
