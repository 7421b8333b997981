/**
 * QuantBridge: Java-driven plugin-style quantization of existing PyTorch and TensorFlow code.
 *
 * <p>Start with {@link io.quantbridge.runtime.PythonRuntime}, then
 * {@code io.quantbridge.torch.TorchQuantizer} or {@code io.quantbridge.tf.TfQuantizer}.
 */
package io.quantbridge;
