package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.config.InputShape;
import io.quantbridge.config.LayerInfo;
import io.quantbridge.config.QuantConfig;
import io.quantbridge.params.LayerParams;
import io.quantbridge.runtime.ProgressEvent;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.service.InProcessRunner;
import io.quantbridge.service.JobListener;
import io.quantbridge.service.JobResult;
import io.quantbridge.service.QuantBridgeService;
import io.quantbridge.service.QuantJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs in worker JVMs: the same result as in-process, bit for bit; progress and logs; isolation of projects. */
class WorkerJobsTest {
    @TempDir
    Path tmp;

    @Test
    void torchJobInWorkerIsBitIdenticalToInProcess() throws Exception {
        Path inProc = Files.createDirectory(tmp.resolve("in_process"));
        Path worker = Files.createDirectory(tmp.resolve("worker"));
        JobResult a;
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.exec("import torch\ntorch.set_num_threads(1)\n");
            a = new InProcessRunner(rt).run(Jobs.torch(inProc, "digitsnet.train:train", Map.of("epochs", 1)).build(), null);
        }
        List<ProgressEvent> events = Collections.synchronizedList(new ArrayList<>());
        List<String> logs = Collections.synchronizedList(new ArrayList<>());
        JobResult b;
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(1))) {
            b = service.run(Jobs.torch(worker, "digitsnet.train:train", Map.of("epochs", 1)).build(), new JobListener() {
                @Override
                public boolean onProgress(ProgressEvent e) {
                    events.add(e);
                    return true;
                }

                @Override
                public void onLog(String stream, String line) {
                    logs.add(stream + ": " + line);
                }
            });
        }
        assertEquals(a.params(), b.params(), "the same scales in both modes");
        assertEquals(a.calibratedBatches(), b.calibratedBatches());
        assertEquals(4, b.calibratedBatches());
        assertEquals(a.trainResult(), b.trainResult());
        assertEquals(3, b.files().size());
        for (int i = 0; i < a.files().size(); i++) {
            assertEquals(a.files().get(i).getFileName(), b.files().get(i).getFileName());
            assertArrayEquals(Files.readAllBytes(a.files().get(i)), Files.readAllBytes(b.files().get(i)),
                    "bit-identical " + b.files().get(i).getFileName());
        }
        assertTrue(events.stream().anyMatch(e -> e.phase().equals("calibrate")), "calibration progress reached the parent");
        assertTrue(events.stream().anyMatch(e -> e.phase().equals("train") && e.metrics().containsKey("loss")),
                "training progress with the loss reached the parent");
        assertTrue(events.stream().anyMatch(e -> e.phase().equals("export")));
        System.out.printf("quantbridge service: torch job in a worker: %d progress events, %d log lines, %d layers; "
                + "files identical to in-process%n", events.size(), logs.size(), b.params().layers().size());
    }

    @Test
    void tensorflowJobInWorker() throws Exception {
        Path ckpt = tmp.resolve("float.ckpt");
        try (PythonRuntime rt = PythonRuntime.open()) {
            rt.addPythonPath(Jobs.TF_PROJECT);
            rt.call("digitsgraph.train:create_float_checkpoint", List.of(ckpt.toString()), Map.of("epochs", 1), null);
        }
        Path out = Files.createDirectory(tmp.resolve("tf_out"));
        QuantJob job = QuantJob.tensorflow("digitsgraph.graph:build_graph", "images:0", List.of("logits"),
                        Jobs.digitsgraphConfig())
                .pythonPath(Jobs.TF_PROJECT).floatWeights(ckpt)
                .calibrate("digitsgraph.data:calibration_batches", Map.of(), 4)
                .train("digitsgraph.train:train", Map.of("epochs", 1))
                .export(out, "digits", false).build();
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(1))) {
            JobResult r = service.run(job, null);
            assertEquals(List.of(out.resolve("digits.pb"), out.resolve("digits.onnx"), out.resolve("digits_int8.onnx"),
                    out.resolve("digits_quant_param.json")), r.files());
            assertEquals(3, r.params().quantizedLayers().size());
            assertTrue(r.trainResult().containsKey("loss"), r.trainResult().toString());
            for (LayerParams l : r.params().quantizedLayers()) {
                assertTrue(l.activation().scale() > 0, l.name());
            }
        }
    }

    @Test
    void twoProjectsWithTheSamePackageNameBothRunTheirOwnCode() throws Exception {
        QuantConfig a = QuantConfig.template(List.of(new LayerInfo("fc1/MatMul", Jobs.LINEAR),
                new LayerInfo("fc2/MatMul", Jobs.LINEAR)), InputShape.parse("x:1,1,8,8"));
        QuantConfig b = QuantConfig.template(List.of(new LayerInfo("conv/Conv2D", Jobs.CONV),
                new LayerInfo("head/MatMul", Jobs.LINEAR)), InputShape.parse("x:1,1,8,8"));
        a.quantizeAll("Quant_INT8-8");
        b.quantizeAll("Quant_INT8-8");
        Path outA = Files.createDirectory(tmp.resolve("a"));
        Path outB = Files.createDirectory(tmp.resolve("b"));
        QuantJob jobA = QuantJob.torch("userpkg.model:build", a).pythonPath(Runtimes.home().resolve("tests/projects/same_name_a"))
                .calibrate("userpkg.model:batches", Map.of(), 0).export(outA, "m", false).build();
        QuantJob jobB = QuantJob.torch("userpkg.model:build", b).pythonPath(Runtimes.home().resolve("tests/projects/same_name_b"))
                .calibrate("userpkg.model:batches", Map.of(), 0).export(outB, "m", false).build();
        try (QuantBridgeService service = QuantBridgeService.start(Jobs.options(2))) {
            Future<JobResult> fa = service.submit(jobA, null);
            Future<JobResult> fb = service.submit(jobB, null);
            JobResult ra = fa.get();
            JobResult rb = fb.get();
            assertEquals(List.of("fc1/MatMul", "fc2/MatMul"), ra.params().layers().stream().map(LayerParams::name).toList());
            assertEquals(List.of("conv/Conv2D", "head/MatMul"), rb.params().layers().stream().map(LayerParams::name).toList());
            assertTrue(Files.exists(outA.resolve("m_int8.onnx")) && Files.exists(outB.resolve("m_int8.onnx")));
        }
    }
}
