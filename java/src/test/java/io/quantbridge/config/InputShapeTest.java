package io.quantbridge.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Same rules and messages as the shim's {@code parse_input_shape} / {@code format_input_shape}. */
class InputShapeTest {
    @Test
    void parsesAndFormats() throws Exception {
        InputShape s = InputShape.parse(" x : 1, 3,224 ,224 ; y.mask:1,10; ");
        assertEquals(List.of("x", "y.mask"), s.inputs().stream().map(InputShape.Input::name).toList());
        assertEquals(List.of(1L, 3L, 224L, 224L), s.inputs().get(0).dims());
        assertArrayEquals(new long[] {1, 10}, s.input("y.mask").orElseThrow().shape());
        assertEquals("x:1,3,224,224;y.mask:1,10", s.format());
        assertEquals(s, InputShape.parse(s.format()));
        assertEquals("x:1,1,8,8", InputShape.of("x", 1, 1, 8, 8).toString());
    }

    @Test
    void rejectsWithShimMessages() {
        assertEquals("input_shape '  ' is malformed; expected 'name:d1,d2,...' with inputs separated by ';'",
                assertThrows(ConfigException.class, () -> InputShape.parse("  ")).getMessage());
        assertEquals("input_shape None is malformed; expected 'name:d1,d2,...' with inputs separated by ';'",
                assertThrows(ConfigException.class, () -> InputShape.parse(null)).getMessage());
        assertEquals("input_shape part '1x:1,2' of 'x:1;1x:1,2' is malformed; expected 'name:d1,d2,...' "
                        + "(positive integers, e.g. 'x:1,3,224,224')",
                assertThrows(ConfigException.class, () -> InputShape.parse("x:1;1x:1,2")).getMessage());
        assertEquals("input_shape part 'x:1,-3' of 'x:1,-3' is malformed; expected 'name:d1,d2,...' "
                        + "(positive integers, e.g. 'x:1,3,224,224')",
                assertThrows(ConfigException.class, () -> InputShape.parse("x:1,-3")).getMessage());
        assertEquals("input_shape part 'x:1,0,3': every dimension must be a positive integer",
                assertThrows(ConfigException.class, () -> InputShape.parse("x:1,0,3")).getMessage());
        assertEquals("input_shape 'x:1;x:2' names an input twice",
                assertThrows(ConfigException.class, () -> InputShape.parse("x:1;x:2")).getMessage());
        assertThrows(ConfigException.class, () -> InputShape.parse("x:1;;y:2"));
        assertThrows(ConfigException.class, () -> InputShape.parse("x:99999999999999999999999"));
    }
}
