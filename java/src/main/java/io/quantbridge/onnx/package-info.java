/**
 * ONNX on the Java side: loading and saving models ({@link io.quantbridge.onnx.OnnxModels}), a
 * small builder layer ({@link io.quantbridge.onnx.OnnxContext}), the INT8 QDQ export from a
 * float model and a parameter file ({@link io.quantbridge.onnx.QdqBuilder}), inspection
 * ({@link io.quantbridge.onnx.OnnxInspector}) and running models in ONNX Runtime
 * ({@link io.quantbridge.onnx.OrtSessionRunner}).
 *
 * <p>Models are {@code ai.onnx.proto.OnnxMl} protobuf messages (from tribuo-util-onnx).
 */
package io.quantbridge.onnx;
