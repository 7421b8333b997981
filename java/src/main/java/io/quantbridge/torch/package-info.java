/**
 * PyTorch plugin quantization driven from Java: the vendor's five steps over
 * {@link io.quantbridge.runtime.PythonRuntime} and the shim's {@code quantbridge.torch}.
 */
package io.quantbridge.torch;
