/**
 * Quantization jobs for Java services: one job description ({@link io.quantbridge.service.QuantJob}),
 * one result ({@link io.quantbridge.service.JobResult}), two ways to run it. In-process
 * ({@link io.quantbridge.service.InProcessRunner}) uses this JVM's embedded CPython; the service
 * mode ({@link io.quantbridge.service.QuantBridgeService}) runs every job in a fresh worker JVM
 * with its own CPython, so that a crash, a hang or a memory blow-up in user code fails one job
 * and nothing else.
 */
package io.quantbridge.service;
