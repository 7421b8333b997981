package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;

/**
 * Which image the container tests run, and whether they run at all.
 *
 * <p>{@code -Dquantbridge.docker.image} names the image (default {@code quantbridge:latest}, what
 * {@code docker/build.sh} builds). {@code -Dquantbridge.docker} says what to do without an engine
 * or an image: {@code auto} (default) skips the tests and says why, {@code required} (CI, after
 * {@code docker/ci.sh} built the image) fails them, {@code off} skips them.
 *
 * <p>Testcontainers' reaper (Ryuk) is an image from a registry, so the build turns it off
 * ({@code TESTCONTAINERS_RYUK_DISABLED}); every container the tests start carries {@link #LABEL},
 * is removed when its run ends, and leftovers of a killed run are removed before the next one.
 */
final class ContainerImage {
    /** Label on every container the tests start. */
    static final String LABEL = "io.quantbridge.test";
    /** The name of the image's own user (docker/Dockerfile). */
    static final String IMAGE_USER = "quantbridge";

    private ContainerImage() {
    }

    /** The image to test, after removing leftover test containers; skips or fails when there is none. */
    static String require() {
        String mode = System.getProperty("quantbridge.docker", "auto");
        String image = System.getProperty("quantbridge.docker.image", "quantbridge:latest");
        if (!List.of("auto", "required", "off").contains(mode)) {
            fail("-Dquantbridge.docker must be auto, required or off, got '" + mode + "'");
        }
        Assumptions.assumeFalse(mode.equals("off"), "container tests switched off (-Dquantbridge.docker=off)");
        String missing = null;
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            missing = "no Docker engine answers (as root, docker/engine.sh starts one; see the README's Docker section)";
        } else if (inspect(image) == null) {
            missing = "the image " + image + " is not built (docker/build.sh builds it; see the README's Docker section)";
        }
        if (missing != null) {
            if (mode.equals("required")) {
                fail("-Dquantbridge.docker=required but " + missing);
            }
            Assumptions.abort("skipping the container tests: " + missing);
        }
        removeLeftovers();
        InspectImageResponse info = inspect(image);
        System.out.printf("quantbridge docker: testing %s (%s, created %s, %.2f GB)%n", image,
                info.getId().substring(0, 19), info.getCreated(), info.getSize() / 1e9);
        return image;
    }

    /** The image's metadata, or null when the engine does not have it. */
    static InspectImageResponse inspect(String image) {
        try {
            return DockerClientFactory.instance().client().inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
            return null;
        }
    }

    private static void removeLeftovers() {
        DockerClient docker = DockerClientFactory.instance().client();
        List<Container> left = docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LABEL, "true")).exec();
        for (Container c : left) {
            docker.removeContainerCmd(c.getId()).withForce(true).exec();
        }
    }
}
