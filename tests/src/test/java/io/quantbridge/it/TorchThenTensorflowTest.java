package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.PythonRuntime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** torch imported first, then TensorFlow, in one interpreter (this class runs in its own JVM). */
class TorchThenTensorflowTest {
    @Test
    void bothFrameworksRunAForwardPass() throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            Map<?, ?> torch = (Map<?, ?>) rt.call("qb_testing:torch_forward");
            Map<?, ?> tf = (Map<?, ?>) rt.call("qb_testing:tf_forward");
            FrameworkChecks.check(torch, tf);
        }
    }
}

/** Shared assertions of the two import-order tests. */
final class FrameworkChecks {
    private FrameworkChecks() {
    }

    static void check(Map<?, ?> torch, Map<?, ?> tf) {
        assertTrue(String.valueOf(torch.get("version")).startsWith("1.11.0"), String.valueOf(torch.get("version")));
        assertEquals(List.of(2L, 3L), torch.get("shape"));
        assertEquals(true, torch.get("finite"));
        assertTrue(String.valueOf(tf.get("version")).startsWith("2.8."), String.valueOf(tf.get("version")));
        assertEquals(List.of(2L, 3L), tf.get("shape"));
        assertEquals(16.0, tf.get("graph_sum"));
    }
}
