/**
 * The vendor's quantization config file (JSON) on the Java side: reading, editing and writing it
 * ({@link io.quantbridge.config.QuantConfig}), the supported strategies per op type
 * ({@link io.quantbridge.config.Strategies}), the {@code input_shape} syntax
 * ({@link io.quantbridge.config.InputShape}) and validation before Python sees anything.
 */
package io.quantbridge.config;
