package io.quantbridge.params;

import com.fasterxml.jackson.databind.JsonNode;
import io.quantbridge.config.Fixtures;
import io.quantbridge.config.PythonJson;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Bit-for-bit agreement with {@code quantbridge.common.qparams}: the reference values in
 * {@code params/qparams_reference.json} were computed by the Python functions (numpy 1.23).
 */
class QParamMathTest {
    private static JsonNode ref;

    @BeforeAll
    static void load() throws Exception {
        ref = PythonJson.parse(Files.readString(Fixtures.path("params/qparams_reference.json")));
    }

    private static float[] floats(String key) {
        JsonNode a = ref.get(key);
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) a.get(i).doubleValue();
        }
        return out;
    }

    @Test
    void activationQParamsMatchPython() {
        for (JsonNode c : ref.get("activation")) {
            QParamMath.Affine q = QParamMath.activationQParams(c.get("lo").doubleValue(), c.get("hi").doubleValue());
            assertEquals(c.get("scale").doubleValue(), (double) q.scale(), 0.0, c.toString());
            assertEquals(c.get("zero_point").intValue(), q.zeroPoint(), c.toString());
        }
        assertEquals(ref.get("activation").size(), 50);
    }

    @Test
    void weightScalesMatchPython() {
        assertArrayEquals(floats("weight_scales"), QParamMath.weightScales(floats("weight_absmax")));
    }

    @Test
    void fakeQuantPerTensorMatchesPython() {
        float[] out = QParamMath.fakeQuant(floats("fq_x"), (float) ref.get("fq_scale").doubleValue(),
                ref.get("fq_zero_point").intValue(), 0, 255);
        assertArrayEquals(floats("fq_out"), out);
    }

    @Test
    void fakeQuantPerAxisMatchesPython() {
        float[] x = floats("axis_x");
        long[] shape = {3, 4, 5};
        float[] s0 = QParamMath.weightScales(QParamMath.channelAbsMax(x, shape, 0));
        assertArrayEquals(floats("axis0_scales"), s0);
        assertArrayEquals(floats("axis0_out"), QParamMath.fakeQuant(x, shape, 0, s0, new int[3], -127, 127));
        float[] s1 = QParamMath.weightScales(QParamMath.channelAbsMax(x, shape, 1));
        assertArrayEquals(floats("axis1_scales"), s1);
        assertArrayEquals(floats("axis1_out"), QParamMath.fakeQuant(x, shape, 1, s1, new int[4], -127, 127));
        assertEquals(ref.get("sqnr").doubleValue(), QParamMath.sqnrDb(x, floats("axis0_out")), 1e-9);
    }

    @Test
    void quantizeSymmetricIsTheIntegerSideOfFakeQuant() {
        float[] x = floats("axis_x");
        long[] shape = {3, 4, 5};
        float[] s = floats("axis0_scales");
        byte[] q = QParamMath.quantizeSymmetric(x, shape, 0, s);
        float[] fq = floats("axis0_out");
        for (int i = 0; i < q.length; i++) {
            assertEquals(fq[i], q[i] * s[i / 20], 0.0f);
        }
        assertArrayEquals(new byte[] {127, -127, 0, 2}, QParamMath.quantizeSymmetric(new float[] {1e9f, -1e9f, 0.5f,
                1.5f}, new long[] {4}, 0, new float[] {1f, 1f, 1f, 0.75f}));
    }

    @Test
    void halfwayCasesRoundToEven() {
        assertArrayEquals(new float[] {0f, 2f, 2f, -2f, 4f}, QParamMath.fakeQuant(new float[] {0.5f, 1.5f, 2.5f, -2.5f,
                3.5f}, 1f, 128, 0, 255));
    }

    @Test
    void badShapesAreRejected() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> QParamMath.channelAbsMax(new float[6], new long[] {2, 4}, 0));
        assertEquals("shape [2, 4] holds 8 values but 6 arrived", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> QParamMath.channelAbsMax(new float[8], new long[] {2, 4}, 2));
        assertThrows(IllegalArgumentException.class,
                () -> QParamMath.quantizeSymmetric(new float[8], new long[] {2, 4}, 1, new float[2]));
    }
}
