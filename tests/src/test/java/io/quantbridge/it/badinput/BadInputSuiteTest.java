package io.quantbridge.it.badinput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input suite: hundreds of generated bad inputs run through the real command line
 * in-process ({@code Main.commandLine().execute}), in one JVM and one interpreter. Each case
 * asserts its exit code, exactly one {@code error:} line naming the offending thing, and that no
 * file under the fixture changed, vanished or appeared (no data loss, no leftovers).
 *
 * <p>Cases live in one file per category ({@code *Cases.java}); add a case there. A category
 * that needs a fix made elsewhere is {@code @Disabled} with the fix it needs.
 */
class BadInputSuiteTest {
    @TempDir
    static Path dir;
    static Fixture fixture;
    private static final AtomicInteger RUN = new AtomicInteger();
    private static final List<String> WRONG_SUCCESS = new ArrayList<>();
    private static final List<String> DATA_LOSS = new ArrayList<>();
    private static final List<String> LEFTOVERS = new ArrayList<>();
    private static final List<String> UNCLEAR = new ArrayList<>();

    @BeforeAll
    static void makeFixture() throws Exception {
        fixture = new Fixture(dir.resolve("qb"));
    }

    @AfterAll
    static void summary() {
        System.out.printf("quantbridge bad-input: %d cases run, %d wrong successes, %d with data loss, %d with "
                        + "leftovers, %d unclear%n", RUN.get(), WRONG_SUCCESS.size(), DATA_LOSS.size(), LEFTOVERS.size(),
                UNCLEAR.size());
    }

    @TestFactory
    Stream<DynamicTest> configs() {
        return cases(ConfigCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> stateFiles() {
        return cases(StateFileCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> userFunctions() {
        return cases(UserFunctionCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> arguments() {
        return cases(ArgumentCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> force() {
        return cases(ForceCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> outputPaths() {
        return cases(OutputPathCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> tensorflow() {
        return cases(TfCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> tensorflowData() {
        return cases(TfDataCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> tensorflowCheckpoints() {
        return cases(TfCheckpointCases::cases);
    }

    @TestFactory
    Stream<DynamicTest> ordinaryPaths() {
        return cases(OrdinaryPathCases::cases);
    }

    /** The dynamic tests of one category, named after their cases. */
    static Stream<DynamicTest> cases(Function<Fixture, List<Case>> category) {
        return category.apply(fixture).stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private static void removeNew(List<String> diff) throws java.io.IOException {
        List<String> created = diff.stream().filter(d -> d.startsWith("new ")).map(d -> d.substring(4)).sorted()
                .toList();
        for (int i = created.size() - 1; i >= 0; i--) {
            String rel = created.get(i);
            java.nio.file.Files.deleteIfExists(fixture.root.resolve(rel.endsWith("/") ? rel.substring(0, rel.length() - 1)
                    : rel));
        }
    }

    /** Runs one case and checks the exit code, the one error line, and every file under the fixture. */
    static void check(Case c) throws Exception {
        RUN.incrementAndGet();
        if (c.setup() != null) {
            c.setup().run();
        }
        Snapshot before = Snapshot.of(fixture.root);
        Fixture.Result r = Fixture.run(c.args());
        List<String> diff = Snapshot.of(fixture.root).diff(before);
        removeNew(diff);     // a failed case leaves nothing that would change the next one
        String shown = "\ncommand: " + String.join(" ", c.args()) + "\nexit " + r.code() + "\nstdout:\n" + r.out()
                + "\nstderr:\n" + r.err() + "\nfiles: " + diff;
        if (c.exit() == 0) {      // an ordinary input that must work: new files only, nothing replaced
            assertEquals(0, r.code(), () -> "exit code" + shown);
            assertEquals("", r.err(), () -> "nothing on stderr" + shown);
            assertTrue(diff.stream().allMatch(d -> d.startsWith("new")), () -> "files changed" + shown);
            return;
        }
        if (r.code() == 0) {
            WRONG_SUCCESS.add(c.name());
        }
        if (diff.stream().anyMatch(d -> d.startsWith("changed") || d.startsWith("removed"))) {
            DATA_LOSS.add(c.name());
        }
        if (diff.stream().anyMatch(d -> d.startsWith("new"))) {
            LEFTOVERS.add(c.name());
        }
        List<String> lines = r.err().lines().toList();
        boolean clear = lines.size() == 1 && lines.get(0).startsWith("error: ")
                && c.fragments().stream().allMatch(f -> r.err().contains(f));
        if (!clear) {
            UNCLEAR.add(c.name());
        }
        assertEquals(c.exit(), r.code(), () -> "exit code" + shown);
        assertEquals(1, lines.size(), () -> "expected exactly one line on stderr" + shown);
        assertTrue(lines.get(0).startsWith("error: "), () -> "expected 'error: ...'" + shown);
        for (String f : c.fragments()) {
            assertTrue(r.err().contains(f), () -> "the error line lacks '" + f + "'" + shown);
        }
        if (!diff.isEmpty()) {
            fail("files under the fixture changed: " + diff + shown);
        }
    }
}
