/**
 * TensorFlow 2.8 ({@code tf.compat.v1} graph and Session) plugin quantization driven from Java:
 * the vendor's TensorFlow workflow over {@link io.quantbridge.runtime.PythonRuntime} and the shim's
 * {@code quantbridge.tf}.
 */
package io.quantbridge.tf;
