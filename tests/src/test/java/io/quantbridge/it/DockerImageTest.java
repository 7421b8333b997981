package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.command.InspectImageResponse;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The image of {@code docker/Dockerfile}, run for real: its doctor sees the pinned stack, its demo
 * runs both frameworks, and it is the image a team would deploy (the demo as default command,
 * non-root, doctor as health check, no build tools). Which image and when: {@link ContainerImage}.
 */
@ExtendWith(ContainerImage.Available.class)
class DockerImageTest {
    private static String image;

    @BeforeAll
    static void image() {
        image = ContainerImage.image();
    }

    @Test
    void doctorSeesThePinnedStackFromInsideTheJvm() {
        var r = ContainerRun.of(image).command("doctor").run().expect(0);
        assertTrue(r.out().contains("All checks passed."), r.out());
        for (String line : List.of("ok +torch +1\\.11\\.", "ok +tensorflow +2\\.8\\.", "ok +jep \\(native\\) +\\d+\\.\\d+",
                "ok +python +3\\.10\\.", "ok +python prefix +/opt/quantbridge/\\.venv ")) {
            assertTrue(Pattern.compile("(?m)^\\s*" + line).matcher(r.out()).find(), () -> line + " in\n" + r.out());
        }
    }

    @Test
    void theDemoPrintsItsTableWithBothFrameworks() {
        // The default command is "demo" (checked below); fewer epochs keep the run short.
        var r = ContainerRun.of(image).command("demo", "--float-epochs", 3, "--qat-epochs", 1).run().expect(0);
        for (String row : List.of("PyTorch +INT8 QDQ ONNX in ONNX Runtime \\(Java\\) +\\d+\\.\\d\\d",
                "TensorFlow +frozen \\.pb .* +\\d+\\.\\d\\d", "PyTorch +QAT", "TensorFlow +QAT")) {
            assertTrue(Pattern.compile("(?m)^" + row).matcher(r.out()).find(), () -> row + " in\n" + r.out());
        }
    }

    @Test
    void anyUidCanRunItAndBadInputKeepsItsExitCode() {
        // docker run -u "$(id -u):$(id -g)": a uid the image has no account for.
        ContainerRun.of(image).user("4242:4242").command("doctor").run().expect(0);
        var bad = ContainerRun.of(image).command("inspect", "/work/no_such_file.onnx").run().expect(2);
        assertEquals(1, bad.err().lines().count(), bad.err());
        assertTrue(bad.err().startsWith("error: ") && bad.err().contains("no_such_file.onnx"), bad.err());
        ContainerRun.of(image).command("no-such-command").run().expect(2);
    }

    @Test
    void itIsTheImageToDeployDemoByDefaultNonRootWithAHealthCheckAndNoBuildTools() {
        InspectImageResponse info = ContainerImage.inspect(image);
        assertEquals(ContainerImage.IMAGE_USER, info.getConfig().getUser());
        assertEquals(List.of("/opt/quantbridge/quantbridge"), List.of(info.getConfig().getEntrypoint()));
        assertEquals(List.of("demo"), List.of(info.getConfig().getCmd()));
        assertNotNull(info.getConfig().getHealthcheck(), "no HEALTHCHECK");
        assertTrue(info.getConfig().getHealthcheck().getTest().contains("doctor"), info.getConfig().getHealthcheck().getTest()
                .toString());
        // What the build stage needed and the runtime must not carry.
        var r = ContainerRun.of(image).entrypoint("sh").command("-c", "id -u; for t in mvn javac gcc cc; do "
                + "command -v $t || true; done; ls -d /root/.m2 /root/.cache/pip /home/quantbridge/.cache/pip 2>/dev/null; "
                + "if touch /opt/quantbridge/x 2>/dev/null; then echo writable; fi").run().expect(0);
        assertEquals(List.of("10001"), r.out().lines().toList(), "uid, then any build tool, pip/Maven cache or "
                + "writable installation found:\n" + r.out());
    }
}
