/** The built-in example: a small CNN on scikit-learn's digits, quantized end to end. */
package io.quantbridge.demo;
