package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.config.InputShape;
import io.quantbridge.config.LayerInfo;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.runtime.PythonEnvironment;
import io.quantbridge.service.JobResult;
import io.quantbridge.service.QuantBridgeService;
import io.quantbridge.service.QuantJob;
import io.quantbridge.service.ServiceOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A consumer's use of QuantBridge: a PyTorch and a TensorFlow job in worker JVMs, side by side. */
class ServiceModeTest {
    private static final Path PROJECTS = Path.of(System.getProperty("projects"));
    private static final Path VENV = Path.of(System.getProperty("quantbridge.venv"));

    @TempDir
    Path tmp;

    @Test
    void torchAndTensorflowJobsInWorkers() throws Exception {
        assertTrue(QuantBridgeService.class.getProtectionDomain().getCodeSource().getLocation().getPath()
                .endsWith(".jar"), "QuantBridge comes from the installed jar");
        Path ckpt = floatCheckpoint();
        String conv = "<class 'torch.nn.modules.conv.Conv2d'>";
        String linear = "<class 'torch.nn.modules.linear.Linear'>";
        QuantConfig torchConfig = QuantConfig.template(List.of(new LayerInfo("conv1/Conv2D", conv),
                new LayerInfo("conv2/Conv2D", conv), new LayerInfo("fc1/MatMul", linear),
                new LayerInfo("fc2/MatMul", linear)), InputShape.parse("x:1,1,8,8"));
        torchConfig.quantizeAll("Quant_INT8-8");
        QuantConfig tfConfig = QuantConfig.template(List.of(new LayerInfo("conv1/Conv2D", "Conv2D"),
                new LayerInfo("conv2/Conv2D", "Conv2D"), new LayerInfo("fc/MatMul", "MatMul")), null);
        tfConfig.quantizeAll("Quant_INT8-8");

        Path torchOut = Files.createDirectory(tmp.resolve("torch"));
        Path tfOut = Files.createDirectory(tmp.resolve("tf"));
        QuantJob torchJob = QuantJob.torch("digitsnet.model:build_model", torchConfig)
                .pythonPath(PROJECTS.resolve("torch_project"))
                .calibrate("digitsnet.data:calibration_batches", Map.of(), 4)
                .train("digitsnet.train:train", Map.of("epochs", 1))
                .export(torchOut, "digits", false).build();
        QuantJob tfJob = QuantJob.tensorflow("digitsgraph.graph:build_graph", "images:0", List.of("logits"), tfConfig)
                .pythonPath(PROJECTS.resolve("tf_project")).floatWeights(ckpt)
                .calibrate("digitsgraph.data:calibration_batches", Map.of(), 4)
                .train("digitsgraph.train:train", Map.of("epochs", 1))
                .export(tfOut, "digits", false).build();

        ServiceOptions options = ServiceOptions.defaults().withWorkers(2).withVenv(VENV);
        try (QuantBridgeService service = QuantBridgeService.start(options)) {
            Future<JobResult> torch = service.submit(torchJob, null);
            Future<JobResult> tf = service.submit(tfJob, null);
            JobResult t = torch.get();
            JobResult g = tf.get();
            assertEquals(List.of("digits.onnx", "digits_int8.onnx", "digits_quant_param.json"),
                    t.files().stream().map(p -> p.getFileName().toString()).toList());
            assertEquals(4, t.params().quantizedLayers().size());
            assertEquals(List.of("digits.pb", "digits.onnx", "digits_int8.onnx", "digits_quant_param.json"),
                    g.files().stream().map(p -> p.getFileName().toString()).toList());
            assertEquals(3, g.params().quantizedLayers().size());
            System.out.println("consumer: torch " + t.trainResult() + ", tensorflow " + g.trainResult());
        }
    }

    @Test
    void aMissingEnvironmentGivesAdviceForThisProject() {
        Exception e = assertThrows(Exception.class, () -> PythonEnvironment.of(tmp.resolve("no_venv")));
        assertTrue(e.getMessage().contains("PythonEnvironment.of") && !e.getMessage().contains("./quantbridge setup,")
                || e.getMessage().contains("QUANTBRIDGE_VENV"), e.getMessage());
        assertTrue(!e.getMessage().contains("; run ./quantbridge setup"), e.getMessage());
    }

    /** The TensorFlow project's float checkpoint, made by the project's own script in the venv's Python. */
    private Path floatCheckpoint() throws Exception {
        Path ckpt = tmp.resolve("float.ckpt");
        Process p = new ProcessBuilder(VENV.resolve("bin/python").toString(), "-m", "digitsgraph.train", ckpt.toString())
                .directory(PROJECTS.resolve("tf_project").toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return ckpt;
    }
}
