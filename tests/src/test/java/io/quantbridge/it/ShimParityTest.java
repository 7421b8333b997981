package io.quantbridge.it;

import io.quantbridge.json.PythonRepr;
import io.quantbridge.params.QParamMath;
import io.quantbridge.runtime.PythonRuntime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import jep.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where Java and the shim must agree, checked live through the runtime. The shim owns the
 * quantization math; Java computes only the int8 codes the INT8 QDQ ONNX stores: DequantizeLinear
 * of Java's codes with the shim's scales is the shim's fake-quantized weight bit for bit, for
 * numpy's reference and for torch's op. Java quotes values in its error messages as the shim does
 * ({@code repr}), so that a message reads the same whichever side raised it.
 */
class ShimParityTest {
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

    @Test
    void floatsReadAsPythonWritesThem() throws Exception {
        List<Double> values = new ArrayList<>(Arrays.asList(0.0, -0.0, 1.0, -1.5, 0.1, 99.99, 1e-4, 1e-5, 1.5e-5,
                1e15, 1e16, 1.2345e16, 1e22, 1e23, 2e-3, 123456789.123, Double.MIN_VALUE, -Double.MIN_VALUE,
                Double.MAX_VALUE, Double.MIN_NORMAL, 4.35, 0.3, 2.0 / 3, 9007199254740993.0, 5e-324 * 3));
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 3000; i++) {
            double d = Double.longBitsToDouble(rnd.nextLong());
            if (Double.isFinite(d)) {
                values.add(d);
            }
            values.add(rnd.nextDouble() * Math.pow(10, rnd.nextInt(-30, 30)));
            values.add((double) (float) rnd.nextDouble());
        }
        List<?> python = (List<?>) rt.call("qb_parity:reprs", values);
        for (int i = 0; i < values.size(); i++) {
            assertEquals(python.get(i), PythonRepr.of(values.get(i)), "bits " + Double.doubleToRawLongBits(values.get(i)));
        }
    }

    @Test
    void stringsAndListsReadAsPythonWritesThem() throws Exception {
        List<Object> values = List.of("conv1", "it's", "say \"hi\"", "both ' and \"", "tab\there\nnew", "блок2.conv",
                "\u0000\u007f\u00a0\u2028", "😀", List.of("float", "Quant_INT8-8"), List.of());
        List<?> python = (List<?>) rt.call("qb_parity:reprs", values);
        for (int i = 0; i < values.size(); i++) {
            assertEquals(python.get(i), PythonRepr.of(values.get(i)), String.valueOf(values.get(i)));
        }
    }
    private static float[] floats(Object ndarray) {
        return (float[]) ((NDArray<?>) ndarray).getData();
    }
}
