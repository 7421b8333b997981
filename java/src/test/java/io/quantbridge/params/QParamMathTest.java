package io.quantbridge.params;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The int8 codes of the QDQ weights. Their agreement with the shim's fake quant is checked live,
 * through the runtime, by the end-to-end {@code ShimParityTest}.
 */
class QParamMathTest {
    @Test
    void codesSaturateAndRoundHalfToEven() {
        assertArrayEquals(new byte[] {127, -127, 0, 2}, QParamMath.quantizeSymmetric(new float[] {1e9f, -1e9f, 0.5f,
                1.5f}, new long[] {4}, 0, new float[] {1f, 1f, 1f, 0.75f}));
        assertArrayEquals(new byte[] {0, 2, 2, -2, 4}, QParamMath.quantizeSymmetric(new float[] {0.5f, 1.5f, 2.5f,
                -2.5f, 3.5f}, new long[] {1, 5}, 0, new float[] {1f}));
    }

    @Test
    void eachChannelUsesItsScale() {
        float[] w = {1f, 2f, 3f, 1f, 2f, 3f};
        assertArrayEquals(new byte[] {1, 2, 3, 2, 4, 6}, QParamMath.quantizeSymmetric(w, new long[] {2, 3}, 0,
                new float[] {1f, 0.5f}));
        assertArrayEquals(new byte[] {1, 4, 3, 1, 4, 3}, QParamMath.quantizeSymmetric(w, new long[] {2, 3}, 1,
                new float[] {1f, 0.5f, 1f}));
    }

    @Test
    void badShapesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> QParamMath.quantizeSymmetric(new float[6], new long[] {2, 4}, 0, new float[2]));
        assertEquals("shape [2, 4] holds 8 values but 6 arrived", e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> QParamMath.quantizeSymmetric(new float[8], new long[] {2, 4}, 2, new float[2]));
        assertThrows(IllegalArgumentException.class,
                () -> QParamMath.quantizeSymmetric(new float[8], new long[] {2, 4}, 1, new float[2]));
    }
}
