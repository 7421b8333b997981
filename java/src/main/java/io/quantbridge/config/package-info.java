/**
 * The vendor's quantization config file (JSON) on the Java side: reading and writing it
 * byte-for-byte as the Python shim does ({@link io.quantbridge.config.QuantConfig},
 * {@link io.quantbridge.config.PythonJson}), the supported strategies per op type
 * ({@link io.quantbridge.config.Strategies}), the {@code input_shape} syntax
 * ({@link io.quantbridge.config.InputShape}) and validation before Python sees anything.
 */
package io.quantbridge.config;
