package io.quantbridge.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbridge.runtime.PyHandle;
import io.quantbridge.runtime.PythonEnvironment;
import io.quantbridge.runtime.PythonException;
import io.quantbridge.runtime.PythonRuntime;
import io.quantbridge.runtime.ProgressEvent;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jep.DirectNDArray;
import jep.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The runtime against the real embedded CPython: values, arrays, errors, exit guard, handles. */
class PythonRuntimeTest {
    private static PythonRuntime rt;

    @BeforeAll
    static void open() throws Exception {
        rt = Runtimes.open();
    }

    @AfterAll
    static void close() {
        rt.close();
    }

    @Test
    void plainValuesCrossBothWays() throws Exception {
        assertEquals(5L, rt.call("qb_testing:add", 2, 3));
        assertEquals(2.5, rt.call("qb_testing:add", 1.0, 1.5));
        assertEquals("ab", rt.call("qb_testing:add", "a", "b"));
        assertNull(rt.call("qb_testing:echo", (Object) null));
        assertEquals(true, rt.call("qb_testing:echo", true));
        assertEquals(List.of(1L, 2L, 3L), rt.call("qb_testing:echo", List.of(1, 2, 3)));
        Object m = rt.call("qb_testing:echo", Map.of("k", List.of("v")));
        assertEquals(Map.of("k", List.of("v")), m);
    }

    @Test
    void numpyArraysComeBackTyped() throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> arrays = (Map<String, Object>) rt.call("qb_testing:make_arrays");
        NDArray<?> f32 = (NDArray<?>) arrays.get("f32");
        assertArrayEquals(new int[] {2, 3}, f32.getDimensions());
        assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, (float[]) f32.getData());
        NDArray<?> f64 = (NDArray<?>) arrays.get("f64");
        assertArrayEquals(new double[] {0, 0.25, 0.5, 0.75, 1.0}, (double[]) f64.getData());
        NDArray<?> i64 = (NDArray<?>) arrays.get("i64");
        assertArrayEquals(new long[] {1, -2, 205891132094649L}, (long[]) i64.getData());
    }

    @Test
    void javaArraysArriveAsNumpy() throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> d = (Map<String, Object>) rt.call("qb_testing:describe",
                new NDArray<>(new float[] {1, 2, 3, 4}, 2, 2));
        assertEquals("ndarray", d.get("type"));
        assertEquals("float32", d.get("dtype"));
        assertEquals(List.of(2L, 2L), d.get("shape"));
        assertEquals(10.0, d.get("sum"));
        @SuppressWarnings("unchecked")
        Map<String, Object> l = (Map<String, Object>) rt.call("qb_testing:describe",
                new NDArray<>(new long[] {5, 6}, 2));
        assertEquals("int64", l.get("dtype"));
        @SuppressWarnings("unchecked")
        Map<String, Object> g = (Map<String, Object>) rt.call("qb_testing:describe",
                new NDArray<>(new double[] {0.5, 0.25}, 2));
        assertEquals("float64", g.get("dtype"));
    }

    @Test
    void directBuffersAreSharedWithoutCopy() throws Exception {
        FloatBuffer buf = ByteBuffer.allocateDirect(4 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        buf.put(new float[] {1, 2, 3, 4});
        Object ownsData = rt.call("qb_testing:scale_in_place", new DirectNDArray<>(buf, 4), 2.0);
        assertEquals(false, ownsData, "numpy must view the Java buffer, not own a copy");
        assertEquals(8.0f, buf.get(3));
    }

    @Test
    void pythonExceptionCarriesTypeMessageAndTraceback() throws Exception {
        PythonException e = assertThrows(PythonException.class, () -> rt.call("qb_testing:fail", "boom 42"));
        assertEquals("ValueError", e.pythonType());
        assertEquals("boom 42", e.pythonMessage());
        assertTrue(e.pythonTraceback().contains("in inner"), e.pythonTraceback());
        assertTrue(e.pythonTraceback().contains("qb_testing.py"), e.pythonTraceback());
        assertEquals(5L, rt.call("qb_testing:add", 2, 3), "runtime stays usable after an exception");
    }

    @Test
    void importErrorsAndBadTargetsAreClear() {
        PythonException e = assertThrows(PythonException.class, () -> rt.call("no_such_module_xyz:f"));
        assertEquals("ModuleNotFoundError", e.pythonType());
        assertTrue(e.getMessage().contains("no_such_module_xyz"));
        PythonException a = assertThrows(PythonException.class, () -> rt.call("qb_testing:nope"));
        assertEquals("AttributeError", a.pythonType());
        assertThrows(IllegalArgumentException.class, () -> rt.call("qb_testing.add"));
    }

    @Test
    void sysExitBecomesAnException() throws Exception {
        PythonException e = assertThrows(PythonException.class, () -> rt.call("qb_testing:exit_now", 3));
        assertTrue(e.isType("UserExit"), e.pythonType());
        assertTrue(e.getMessage().contains("sys.exit(3)"), e.getMessage());
        PythonException viaExec = assertThrows(PythonException.class, () -> rt.exec("import sys\nsys.exit(0)"));
        assertTrue(viaExec.isType("UserExit"));
        assertEquals(7L, rt.call("qb_testing:add", 3, 4), "the JVM and the runtime survive sys.exit");
    }

    @Test
    void objectsStayInPythonBehindHandles() throws Exception {
        long before = rt.liveHandles();
        try (PyHandle counter = (PyHandle) rt.call("qb_testing:make_counter")) {
            assertTrue(counter.pythonType().endsWith("Counter"), counter.pythonType());
            assertEquals(1L, rt.callMethod(counter, "incr"));
            assertEquals(3L, rt.callMethod(counter, "incr", List.of(2), Map.of(), null));
            assertEquals(5L, rt.callMethod(counter, "incr", List.of(), Map.of("k", 2), null));
            assertEquals(5L, rt.getAttr(counter, "n"));
            assertSame(counter, counter);
            assertEquals(before + 1, rt.liveHandles());
            counter.close();
            counter.close();
            assertThrows(IllegalStateException.class, () -> rt.callMethod(counter, "incr"));
        }
        assertEquals(before, rt.liveHandles());
    }

    @Test
    void progressEventsReachJava() throws Exception {
        List<ProgressEvent> events = new ArrayList<>();
        Object n = rt.call("qb_testing:emit_progress", List.of(3), Map.of(), events::add);
        assertEquals(3L, n);
        assertEquals(3, events.size());
        assertEquals("work", events.get(2).phase());
        assertEquals(3, events.get(2).current());
        assertEquals(3, events.get(2).total());
        assertEquals(1.0 / 3, events.get(2).metric("loss"), 1e-9);
    }

    @Test
    void secondRuntimeSharesAndAnotherEnvironmentIsRefused() throws Exception {
        try (PythonRuntime second = PythonRuntime.open()) {
            assertEquals(rt.pythonVersion(), second.pythonVersion());
            assertEquals(9L, second.call("qb_testing:add", 4, 5));
        }
        assertEquals(9L, rt.call("qb_testing:add", 4, 5), "closing a sharing handle leaves the others usable");
        PythonEnvironment env = rt.environment();
        PythonEnvironment other = new PythonEnvironment(Path.of("/elsewhere/venv"), env.basePrefix(),
                env.libpython(), env.sitePackages(), env.jepLibrary(), env.jepNativeVersion());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PythonRuntime.open(other));
        assertTrue(e.getMessage().contains("/elsewhere/venv"), e.getMessage());
    }

    @Test
    void closedRuntimeRefusesCallsAndClosesTwice() throws Exception {
        PythonRuntime extra = PythonRuntime.open();
        extra.close();
        extra.close();
        assertTrue(extra.isClosed());
        assertThrows(IllegalStateException.class, () -> extra.call("qb_testing:add", 1, 2));
        assertFalse(rt.isClosed());
    }

    @Test
    void pythonVersionIsTheEmbeddedOne() {
        assertTrue(rt.pythonVersion().startsWith("3.10."), rt.pythonVersion());
        assertInstanceOf(String.class, rt.environment().jepNativeVersion());
    }
}
