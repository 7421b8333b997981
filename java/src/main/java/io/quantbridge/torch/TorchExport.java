package io.quantbridge.torch;

import io.quantbridge.params.QuantParams;
import java.nio.file.Path;

/**
 * The files of one PyTorch export.
 *
 * @param floatOnnx {@code <name>.onnx}: BN folded, weights on their int8 grid, float ops (opset 13)
 * @param int8Onnx {@code <name>_int8.onnx}: QuantizeLinear/DequantizeLinear with int8 weights
 * @param paramFile {@code <name>_quant_param.json}
 * @param params the parameters written to the parameter file
 */
public record TorchExport(Path floatOnnx, Path int8Onnx, Path paramFile, QuantParams params) { }
