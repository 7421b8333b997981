package io.quantbridge.onnx;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OrtLatencyTest {
    @Test
    void mediansOfSettledBlocksOnePerSession() throws Exception {
        try (OrtSessionRunner a = new OrtSessionRunner(TinyCnn.model(1, 13));
             OrtSessionRunner b = new OrtSessionRunner(TinyCnn.model(2, 13))) {
            FloatTensor x = TinyCnn.inputs(3, 4);
            double[] med = OrtLatency.medians(List.of(a, b), x.data(), x.shape(), 3);
            assertEquals(2, med.length);
            for (double m : med) {
                assertTrue(m > 0 && Double.isFinite(m), "median " + m);
            }
            var e = assertThrows(IllegalArgumentException.class,
                    () -> OrtLatency.medians(List.of(a), x.data(), x.shape(), 0));
            assertEquals("rounds is 0; expected 1 or more", e.getMessage());
        }
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, OrtLatency.median(new double[] {3, 1, 2}));
        assertEquals(2.5, OrtLatency.median(new double[] {4, 1, 3, 2}));
    }
}
