package io.quantbridge.it;

import io.quantbridge.params.QParamMath;
import io.quantbridge.runtime.PythonRuntime;
import java.util.List;
import java.util.Map;
import jep.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shim owns the quantization math; Java computes only the int8 codes the INT8 QDQ ONNX
 * stores. Live, through the runtime: DequantizeLinear of Java's codes with the shim's scales is
 * the shim's fake-quantized weight bit for bit, for numpy's reference and for torch's op.
 */
class QuantMathParityTest {
    private static PythonRuntime rt;

    @BeforeAll
    static void open() throws Exception {
        rt = Runtimes.open();
    }

    @AfterAll
    static void close() {
        rt.close();
    }

    @Test
    void javaCodesDequantizeToTheShimsFakeQuant() throws Exception {
        for (long seed : List.of(1L, 2L, 3L)) {
            int channels = 6;
            int inner = 75;
            @SuppressWarnings("unchecked")
            NDArray<float[]> w = (NDArray<float[]>) rt.call("qb_parity:weights", channels, inner, seed);
            Map<?, ?> shim = (Map<?, ?>) rt.call("qb_parity:weight_fake_quant", w);
            float[] scales = floats(shim.get("scales"));
            assertEquals(channels, scales.length);
            byte[] codes = QParamMath.quantizeSymmetric(w.getData(), new long[] {channels, inner}, 0, scales);
            for (String which : List.of("numpy", "torch")) {
                float[] fq = floats(shim.get(which));
                for (int i = 0; i < codes.length; i++) {
                    assertEquals(fq[i], codes[i] * scales[i / inner], 0.0f,
                            which + " seed " + seed + " [" + i / inner + ", " + i % inner + "]");
                }
            }
            assertTrue(scales[1] > 0 && scales[2] > 0, "the scale floor keeps empty channels positive");
        }
    }

    private static float[] floats(Object ndarray) {
        return (float[]) ((NDArray<?>) ndarray).getData();
    }
}
