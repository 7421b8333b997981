/**
 * The per-layer quantization report: the statistics the shim's {@code quantbridge.analysis}
 * computes ({@link io.quantbridge.report.LayerStats}), the report itself
 * ({@link io.quantbridge.report.QuantReport}, with {@code report.json}'s content) and a
 * self-contained HTML page with inline SVG charts ({@link io.quantbridge.report.ReportWriter}).
 */
package io.quantbridge.report;
