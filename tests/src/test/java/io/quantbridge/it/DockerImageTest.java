package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The image of {@code docker/Dockerfile}: it builds, its doctor sees the pinned stack and the
 * demo runs. Needs a Docker engine and about 10 GB; opt in with {@code -Dquantbridge.docker=true}
 * (CI machines have no engine, so this class is skipped there).
 */
@EnabledIfSystemProperty(named = "quantbridge.docker", matches = "true")
@Testcontainers(disabledWithoutDocker = true)
class DockerImageTest {
    private static GenericContainer<?> run(String... command) {
        Path root = Runtimes.home();
        ImageFromDockerfile image = new ImageFromDockerfile("quantbridge-test", false)
                .withFileFromPath(".", root)
                .withDockerfile(root.resolve("docker/Dockerfile"));
        return new GenericContainer<>(image).withCommand(command)
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(20)));
    }

    @Test
    void doctorAndDemoRunInTheImage() {
        try (GenericContainer<?> doctor = run("doctor")) {
            doctor.start();
            String logs = doctor.getLogs();
            assertTrue(logs.contains("All checks passed."), logs);
            assertEquals(0L, doctor.getCurrentContainerInfo().getState().getExitCodeLong());
        }
        try (GenericContainer<?> demo = run("demo", "--framework", "torch")) {
            demo.start();
            String logs = demo.getLogs();
            assertTrue(logs.contains("INT8 QDQ ONNX in ONNX Runtime (Java)"), logs);
        }
    }
}
