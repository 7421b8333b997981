package io.quantbridge.tf;

import io.quantbridge.params.QuantParams;
import java.nio.file.Path;

/**
 * The files of one TensorFlow export.
 *
 * @param frozenPb {@code <name>.pb}: frozen, BN folded, weights on their int8 grid, activation fake
 *     quant with the frozen ranges
 * @param floatOnnx {@code <name>.onnx}: the same graph without its activation fake quant (BN folded,
 *     weights on their int8 grid, float ops), converted by tf2onnx (opset 13)
 * @param int8Onnx {@code <name>_int8.onnx}: QuantizeLinear/DequantizeLinear with int8 weights, built
 *     from the float ONNX and the parameter file as for PyTorch
 * @param paramFile {@code <name>_quant_param.json}
 * @param params the parameters written to the parameter file (TensorFlow names)
 */
public record TfExport(Path frozenPb, Path floatOnnx, Path int8Onnx, Path paramFile, QuantParams params) { }
