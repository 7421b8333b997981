package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.fail;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
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

    private static boolean checked;
    private static String missing;

    /** The image to test, after removing leftover test containers of a killed run. */
    static String image() {
        String image = System.getProperty("quantbridge.docker.image", "quantbridge:latest");
        removeLeftovers();
        InspectImageResponse info = inspect(image);
        System.out.printf("quantbridge docker: testing %s (%s, created %s, %.2f GB)%n", image,
                info.getId().substring(0, 19), info.getCreated(), info.getSize() / 1e9);
        return image;
    }

    /** Why the container tests cannot run here (null when they can); fails in mode required. */
    static synchronized String missing() {
        String mode = System.getProperty("quantbridge.docker", "auto");
        if (!checked) {
            String image = System.getProperty("quantbridge.docker.image", "quantbridge:latest");
            if (!List.of("auto", "required", "off").contains(mode)) {
                fail("-Dquantbridge.docker must be auto, required or off, got '" + mode + "'");
            }
            if (mode.equals("off")) {
                missing = "switched off (-Dquantbridge.docker=off)";
            } else if (!DockerClientFactory.instance().isDockerAvailable()) {
                missing = "no Docker engine answers (as root, docker/engine.sh starts one; see the README's Docker section)";
            } else if (inspect(image) == null) {
                missing = "the image " + image + " is not built (docker/build.sh builds it; see the README's Docker section)";
            }
            checked = true;
            if (missing != null && !mode.equals("required")) {
                System.out.println("quantbridge docker: container tests skipped: " + missing);
            }
        }
        if (missing != null && mode.equals("required")) {
            fail("-Dquantbridge.docker=required but " + missing);
        }
        return missing;
    }

    /** Runs the annotated class only when {@link #missing()} finds nothing missing; else says why. */
    static final class Available implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String why = missing();
            return why == null ? ConditionEvaluationResult.enabled("image and engine present")
                    : ConditionEvaluationResult.disabled("container tests skipped: " + why);
        }
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
