package io.quantbridge.it;

import io.quantbridge.runtime.PythonRuntime;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** TensorFlow imported first, then torch, in one interpreter (this class runs in its own JVM). */
class TensorflowThenTorchTest {
    @Test
    void bothFrameworksRunAForwardPass() throws Exception {
        try (PythonRuntime rt = Runtimes.open()) {
            Map<?, ?> tf = (Map<?, ?>) rt.call("qb_testing:tf_forward");
            Map<?, ?> torch = (Map<?, ?>) rt.call("qb_testing:torch_forward");
            FrameworkChecks.check(torch, tf);
        }
    }
}
