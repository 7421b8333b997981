package io.quantbridge.it;

import io.quantbridge.config.InputShape;
import io.quantbridge.config.LayerInfo;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.service.QuantJob;
import io.quantbridge.service.ServiceOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Jobs on the example projects for the service tests; configs made in Java (no Python in the test JVM). */
final class Jobs {
    static final Path TORCH_PROJECT = Runtimes.home().resolve("tests/projects/torch_project");
    static final Path TF_PROJECT = Runtimes.home().resolve("tests/projects/tf_project");
    static final Path TEST_PYTHON = Runtimes.home().resolve("tests/src/test/python");
    static final String CONV = "<class 'torch.nn.modules.conv.Conv2d'>";
    static final String LINEAR = "<class 'torch.nn.modules.linear.Linear'>";

    private Jobs() {
    }

    /** Every layer of digitsnet at INT8 (minmax). */
    static QuantConfig digitsnetConfig() throws io.quantbridge.config.ConfigException {
        QuantConfig c = QuantConfig.template(List.of(new LayerInfo("conv1/Conv2D", CONV), new LayerInfo("conv2/Conv2D", CONV),
                new LayerInfo("fc1/MatMul", LINEAR), new LayerInfo("fc2/MatMul", LINEAR)), InputShape.parse("x:1,1,8,8"));
        c.quantizeAll("Quant_INT8-8");
        c.setCalibration("minmax", 99.99, 2048);
        return c;
    }

    /** Every layer of digitsgraph at INT8. */
    static QuantConfig digitsgraphConfig() {
        QuantConfig c = QuantConfig.template(List.of(new LayerInfo("conv1/Conv2D", "Conv2D"),
                new LayerInfo("conv2/Conv2D", "Conv2D"), new LayerInfo("fc/MatMul", "MatMul")), null);
        c.quantizeAll("Quant_INT8-8");
        return c;
    }

    /** Calibrate digitsnet on 4 batches, retrain with {@code train} (or not), export to {@code out}. */
    static QuantJob.Builder torch(Path out, String train, Map<String, Object> trainArgs)
            throws io.quantbridge.config.ConfigException {
        QuantJob.Builder b = QuantJob.torch("digitsnet.model:build_model", digitsnetConfig())
                .pythonPath(TORCH_PROJECT, TEST_PYTHON)
                .calibrate("digitsnet.data:calibration_batches", Map.of(), 4)
                .export(out, "digits", false);
        return train == null ? b : b.train(train, trainArgs);
    }

    /** Options for tests: small pool, short grace, this build's venv. */
    static ServiceOptions options(int workers) {
        return ServiceOptions.defaults().withWorkers(workers).withGrace(java.time.Duration.ofSeconds(3))
                .withThreadsPerJob(1);
    }
}
