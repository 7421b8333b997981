package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A separate Maven project (tests/consumer) that depends on the installed quantbridge-core
 * artifact alone: the core jar (with its sources and javadoc jars) and the parent pom are
 * installed into a repository directory, and the consumer is built and tested against it with
 * its own local repository (plugins and third-party jars come from the user's Maven cache, no
 * network). Its test runs a PyTorch and a TensorFlow job in worker mode.
 */
class ConsumerProjectTest {
    @Test
    void consumerProjectBuildsAgainstTheInstalledCoreAndRunsJobsInWorkers() throws Exception {
        Path home = Runtimes.home();
        Path work = home.resolve("tests/target/consumer");
        deleteTree(work);
        Path repo = Files.createDirectories(work.resolve("repo"));
        Path jar = coreJar(home.resolve("java/target"), "");
        mvn(home, List.of("-N", "org.apache.maven.plugins:maven-install-plugin:2.4:install-file",
                "-Dfile=" + home.resolve("pom.xml"), "-DpomFile=" + home.resolve("pom.xml"), "-DlocalRepositoryPath=" + repo));
        mvn(home, List.of("-N", "org.apache.maven.plugins:maven-install-plugin:2.4:install-file",
                "-Dfile=" + jar, "-DpomFile=" + home.resolve("java/pom.xml"),
                "-Dsources=" + coreJar(home.resolve("java/target"), "-sources"),
                "-Djavadoc=" + coreJar(home.resolve("java/target"), "-javadoc"), "-DlocalRepositoryPath=" + repo));
        Path cache = Path.of(System.getProperty("quantbridge.userRepo",
                Path.of(System.getProperty("user.home"), ".m2", "repository").toString()));
        Path settings = work.resolve("settings.xml");
        Files.writeString(settings, "<settings>\n  <localRepository>" + work.resolve("m2") + "</localRepository>\n"
                + "  <mirrors><mirror><id>user-cache</id><mirrorOf>*,!quantbridge-local</mirrorOf><url>"
                + cache.toUri() + "</url></mirror></mirrors>\n</settings>\n");
        String out = mvn(home.resolve("tests/consumer"), List.of("-s", settings.toString(), "test",
                "-Dqb.repo=" + repo.toUri(), "-Dquantbridge.venv=" + System.getProperty("quantbridge.venv"),
                "-Dprojects=" + home.resolve("tests/projects")));
        System.out.println(out.lines().filter(l -> l.contains("Tests run") || l.startsWith("consumer:"))
                .reduce("", (a, b) -> a + b + "\n"));
        assertTrue(out.contains("Tests run: 2, Failures: 0, Errors: 0, Skipped: 0"), out);
        assertTrue(Files.isRegularFile(work.resolve("m2/io/quantbridge/quantbridge-core/0.1.0-SNAPSHOT")
                .resolve(jar.getFileName())), "the consumer resolved the core artifact from the installed repository");
    }

    private static Path coreJar(Path target, String classifier) throws IOException {
        try (Stream<Path> s = Files.list(target)) {
            return s.filter(p -> p.getFileName().toString().matches("quantbridge-core-[^-]+(-SNAPSHOT)?" + classifier + "\\.jar"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("no quantbridge-core" + classifier
                            + " jar in " + target + "; build the core module first (mvn package -pl java)"));
        }
    }

    private static String mvn(Path dir, List<String> args) throws Exception {
        String mavenHome = System.getProperty("maven.home");
        List<String> cmd = new ArrayList<>();
        cmd.add(mavenHome != null && !mavenHome.isBlank() ? Path.of(mavenHome, "bin", "mvn").toString() : "mvn");
        cmd.add("-B");
        cmd.add("-Dstyle.color=never");
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        // A consumer has no checkout: nothing may point the runtime at this one (the shim must come from the jar).
        for (String k : List.of("MAVEN_OPTS", "QUANTBRIDGE_HOME", "QUANTBRIDGE_VENV")) {
            pb.environment().remove(k);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(20, TimeUnit.MINUTES), "mvn " + args + " finished");
        assertEquals(0, p.exitValue(), () -> "mvn " + args + " in " + dir + ":\n" + out);
        return out;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
