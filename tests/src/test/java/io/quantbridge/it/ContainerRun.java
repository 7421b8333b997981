package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.Volume;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame.OutputType;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.DockerStatus;

/**
 * One {@code docker run --rm --network none IMAGE args...} through Testcontainers: waits for the
 * container to exit and returns its exit code and both output streams. No network: the image must
 * work offline.
 */
final class ContainerRun {
    private final String image;
    private final List<String> command = new ArrayList<>();
    private String entrypoint;
    private String user;
    private Path work;

    private ContainerRun(String image) {
        this.image = image;
    }

    static ContainerRun of(String image) {
        return new ContainerRun(image);
    }

    /** The arguments after the image name ({@code CMD}); none runs the image's default. */
    ContainerRun command(Object... args) {
        for (Object a : args) {
            command.add(String.valueOf(a));
        }
        return this;
    }

    /** {@code --entrypoint}. */
    ContainerRun entrypoint(String program) {
        this.entrypoint = program;
        return this;
    }

    /** {@code --user}. */
    ContainerRun user(String uidGid) {
        this.user = uidGid;
        return this;
    }

    /** {@code -v DIR:/work}: the image's working directory. */
    ContainerRun work(Path dir) {
        this.work = dir;
        return this;
    }

    /** The exit code and what the container printed. */
    record Result(long code, String out, String err) {
        Result expect(long expected) {
            assertEquals(expected, code, () -> "exit code; stdout:\n" + out + "\nstderr:\n" + err);
            return this;
        }
    }

    Result run() {
        long start = System.nanoTime();
        try (GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image))) {
            c.withNetworkMode("none").withLabel(ContainerImage.LABEL, "true")
                    .withStartupCheckStrategy(new RunsToExit().withTimeout(Duration.ofMinutes(20)));
            if (!command.isEmpty()) {
                c.withCommand(command.toArray(String[]::new));
            }
            c.withCreateContainerCmdModifier(cmd -> {
                cmd.withHealthcheck(new HealthCheck().withTest(List.of("NONE"))); // one-shot: no doctor every 5 min
                if (work != null) { // set here: withFileSystemBind first probes mounting with an image from a registry
                    cmd.getHostConfig().withBinds(new Bind(work.toString(), new Volume("/work"), AccessMode.rw));
                }
                if (entrypoint != null) {
                    cmd.withEntrypoint(entrypoint);
                }
                if (user != null) {
                    cmd.withUser(user);
                }
            });
            c.start();
            DockerClient docker = c.getDockerClient();
            InspectContainerResponse info = docker.inspectContainerCmd(c.getContainerId()).exec();
            Result r = new Result(info.getState().getExitCodeLong(), c.getLogs(OutputType.STDOUT),
                    c.getLogs(OutputType.STDERR));
            System.out.printf("quantbridge docker: %s%s%s -> exit %d in %.1f s%n", entrypoint == null ? "" : entrypoint + " ",
                    command.isEmpty() ? "(default command)" : String.join(" ", command), user == null ? "" : " as " + user,
                    r.code(), (System.nanoTime() - start) / 1e9);
            return r;
        }
    }

    /** Started means ran to the end, whatever the exit code: the tests look at the code themselves. */
    private static final class RunsToExit extends StartupCheckStrategy {
        @Override
        public StartupStatus checkStartupState(DockerClient docker, String containerId) {
            return DockerStatus.isContainerStopped(getCurrentState(docker, containerId))
                    ? StartupStatus.SUCCESSFUL : StartupStatus.NOT_YET_KNOWN;
        }
    }
}
