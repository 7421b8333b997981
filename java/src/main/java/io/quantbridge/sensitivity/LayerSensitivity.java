package io.quantbridge.sensitivity;

/**
 * How one quantized layer affects the model.
 *
 * @param name the layer's config name ({@code features/0/Conv2D}, {@code fc1/MatMul})
 * @param opType the layer's op type as in the config
 * @param onlyThis the model with only this layer quantized (every other candidate in float)
 * @param allButThis the model with every candidate quantized except this layer
 */
public record LayerSensitivity(String name, String opType, Measurement onlyThis, Measurement allButThis) {
    /**
     * The damage this layer does when quantized alone, as a sort key: lower is worse (the
     * evaluation metric when it was measured and {@code byEval}, else the SQNR).
     */
    double damageKey(boolean byEval) {
        return byEval && onlyThis.hasEval() ? onlyThis.eval() : onlyThis.sqnrDb();
    }
}
