/**
 * The user's project as the command line sees it, and the steps run on it: a
 * {@link io.quantbridge.project.ProjectSpec} (framework, Python path, model factory or graph
 * builder) turns into a {@link io.quantbridge.project.Workflow} that generates the config,
 * calibrates, retrains and exports with the user's own functions, checking inputs and outputs
 * before any long work starts; {@link io.quantbridge.project.FileInspector} describes configs,
 * parameter files and ONNX models. The picocli commands in {@code io.quantbridge.cli} only
 * parse options and print results.
 */
package io.quantbridge.project;
