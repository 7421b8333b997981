package io.quantbridge.tf;

import io.quantbridge.params.QuantParams;
import java.nio.file.Path;

/**
 * The files of one TensorFlow export.
 *
 * @param frozenPb {@code <name>.pb}: frozen, BN folded, weights on their int8 grid, activation fake
 *     quant with the frozen ranges
 * @param paramFile {@code <name>_quant_param.json}
 * @param params the parameters written to the parameter file
 */
public record TfExport(Path frozenPb, Path paramFile, QuantParams params) { }
