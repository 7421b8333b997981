/**
 * The embedded CPython: one JEP {@code SharedInterpreter} per JVM, owned by one thread.
 * No other package talks to JEP directly.
 */
package io.quantbridge.runtime;
