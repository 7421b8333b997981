/** Benchmarks run from the command line ({@code quantbridge bench int8}); they print numbers, tests never assert them. */
package io.quantbridge.bench;
