package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's project mounted into the image ({@code docker run -v $PWD:/work quantbridge ...}): a copy
 * of tests/projects/torch_project goes through config, calibrate and export inside containers, as
 * the image's non-root user, and the INT8 QDQ ONNX it writes runs in ONNX Runtime (Java) here on
 * the host. Which image and when: {@link ContainerImage}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(ContainerImage.Available.class)
class DockerProjectTest {
    private static final String MODEL = "digitsnet.model:build_model";

    @TempDir
    static Path tmp;
    static Path project;
    static String image;
    static double calibratedAccuracy = Double.NaN;

    @BeforeAll
    static void copyOfTheUsersProject() throws IOException {
        image = ContainerImage.image();
        project = tmp.resolve("project");
        Path from = Runtimes.home().resolve("tests/projects/torch_project");
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(p -> !p.toString().contains("__pycache__")).toList()) {
                Files.copy(f, project.resolve(from.relativize(f).toString()));
            }
        }
        Files.copy(Runtimes.home().resolve("tests/src/test/python/digits_test_split.py"),
                project.resolve("digits_test_split.py"));
        Files.createDirectory(project.resolve("out"));
        // The image's user (uid 10001) writes into the project, whoever owns it on the host.
        try (Stream<Path> all = Files.walk(project)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxrwxrwx" : "rw-r--r--"));
            }
        }
    }

    private static ContainerRun.Result quantbridge(Object... args) {
        return ContainerRun.of(image).work(project).command(args).run();
    }

    @Test
    @Order(1)
    void theUsersOwnScriptTrainsTheFloatModelInTheImagesPython() throws IOException {
        ContainerRun.of(image).work(project).entrypoint("sh")
                .command("-c", "python -m digitsnet.train float.pth && python digits_test_split.py digits_test.csv")
                .run().expect(0);
        assertTrue(Files.size(project.resolve("float.pth")) > 1000);
        assertEquals(300, Files.readAllLines(project.resolve("digits_test.csv")).size());
        assertEquals(10001, Files.getAttribute(project.resolve("float.pth"), "unix:uid"), "written by the image's user");
    }

    @Test
    @Order(2)
    void configWritesTheTemplateAndRefusesToOverwriteIt() throws IOException {
        var r = quantbridge("config", "--framework", "torch", "-m", MODEL, "--input-shape", "x:1,1,8,8", "--quantize-all")
                .expect(0);
        assertTrue(r.out().contains("4 PyTorch layers, 4 set to Quant_INT8-8"), r.out());
        String written = Files.readString(project.resolve("config_gen.json"));
        var again = quantbridge("config", "--framework", "torch", "-m", MODEL, "--input-shape", "x:1,1,8,8").expect(2);
        assertTrue(again.err().startsWith("error: ") && again.err().contains("refusing to overwrite"), again.err());
        assertEquals(written, Files.readString(project.resolve("config_gen.json")));
    }

    @Test
    @Order(3)
    void calibrateSavesTheQuantizedStateAndItsAccuracy() throws IOException {
        var r = quantbridge("calibrate", "-c", "config_gen.json", "-m", MODEL, "--weights", "float.pth",
                "-d", "digitsnet.data:calibration_batches", "--eval", "digitsnet.train:evaluate").expect(0);
        assertTrue(r.out().contains("calibrated 4 of 4 layers"), r.out());
        Matcher m = Pattern.compile("quantized (\\d+\\.\\d\\d)").matcher(r.out());
        assertTrue(m.find(), r.out());
        calibratedAccuracy = Double.parseDouble(m.group(1));
        assertTrue(Files.size(project.resolve("quant.pth")) > 1000);
    }

    @Test
    @Order(4)
    void exportWritesTheInt8OnnxIntoTheMountedProject() throws IOException {
        var r = quantbridge("export", "-c", "config_gen.json", "-m", MODEL, "--from", "quant.pth", "-o", "out",
                "--name", "digits").expect(0);
        for (String f : List.of("digits.onnx", "digits_int8.onnx", "digits_quant_param.json")) {
            assertTrue(Files.size(project.resolve("out").resolve(f)) > 0, f);
            assertTrue(r.out().contains("wrote /work/out/" + f) || r.out().contains("wrote out/" + f), r.out());
        }
    }

    @Test
    @Order(5)
    void theInt8OnnxRunsInOnnxRuntimeJavaOnTheHost() throws Exception {
        List<String> rows = Files.readAllLines(project.resolve("digits_test.csv"));
        int correct = 0;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(project.resolve("out/digits_int8.onnx").toString(),
                new OrtSession.SessionOptions())) {
            String input = session.getInputNames().iterator().next();
            for (String row : rows) {
                String[] v = row.split(",");
                float[] pixels = new float[64];
                for (int i = 0; i < 64; i++) {
                    pixels[i] = Float.parseFloat(v[i + 1]);
                }
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(pixels), new long[] {1, 1, 8, 8});
                        OrtSession.Result out = session.run(Map.of(input, x))) {
                    float[] logits = ((float[][]) out.get(0).getValue())[0];
                    assertEquals(10, logits.length);
                    correct += argmax(logits) == Integer.parseInt(v[0]) ? 1 : 0;
                }
            }
        }
        double accuracy = 100.0 * correct / rows.size();
        System.out.printf("quantbridge docker: INT8 ONNX from the container, ONNX Runtime (Java) on the host: "
                + "top-1 %.2f%% of %d test images (calibrate reported %.2f%%)%n", accuracy, rows.size(), calibratedAccuracy);
        assertTrue(accuracy > 80, "top-1 " + accuracy);
        assertEquals(calibratedAccuracy, accuracy, 2.0, "ONNX Runtime against the quantized model in torch");
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }
}
