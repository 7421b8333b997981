package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbridge.QuantBridgeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxModelsTest {
    @Test
    void savesLoadsAndHashes(@TempDir Path dir) throws Exception {
        ModelProto m = TinyCnn.model(1, 13);
        Path p = OnnxModels.save(m, dir.resolve("m.onnx"));
        assertEquals(m, OnnxModels.load(p));
        assertEquals(OnnxModels.sha256(m.toByteArray()), OnnxModels.sha256(p));
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                OnnxModels.sha256("abc".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(13, OnnxModels.opset(m).orElseThrow());
        assertTrue(OnnxModels.opset(m, "com.microsoft").isEmpty());
        var e = assertThrows(QuantBridgeException.class, () -> OnnxModels.save(m, p, false));
        assertTrue(e.getMessage().contains("refusing to overwrite"), e.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList());
        }
    }

    @Test
    void loadRejectsMissingAndGarbage(@TempDir Path dir) throws Exception {
        var missing = assertThrows(QuantBridgeException.class, () -> OnnxModels.load(dir.resolve("none.onnx")));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        Path junk = Files.writeString(dir.resolve("junk.onnx"), "{\"this is\": \"json\"}");
        var bad = assertThrows(QuantBridgeException.class, () -> OnnxModels.load(junk));
        assertTrue(bad.getMessage().contains("is not an ONNX model"), bad.getMessage());
    }

    @Test
    void runnerValidatesInputsAndClosesIdempotently() throws Exception {
        OrtSessionRunner ort = new OrtSessionRunner(TinyCnn.model(1, 13));
        assertEquals(List.of("x"), ort.inputNames());
        assertEquals(List.of("logits"), ort.outputNames());
        FloatTensor x = TinyCnn.inputs(3, 5);
        long[] pred = ort.predictArgmax(x.data(), x.shape());
        assertEquals(5, pred.length);
        assertArrayEquals(pred, ort.predictArgmax(Map.of("x", x)));
        FloatTensor y = ort.run(x.data(), x.shape());
        assertArrayEquals(new long[] {5, 10}, y.shape());
        var unknown = assertThrows(IllegalArgumentException.class, () -> ort.run(Map.of("x", x, "z", x)));
        assertTrue(unknown.getMessage().contains("unknown input name z, expected one of [x]"), unknown.getMessage());
        var wrongShape = assertThrows(QuantBridgeException.class,
                () -> ort.run(new float[10], new long[] {1, 10}));
        assertTrue(wrongShape.getMessage().contains("ONNX Runtime failed"), wrongShape.getMessage());
        ort.close();
        ort.close();
        assertThrows(IllegalStateException.class, () -> ort.run(x.data(), x.shape()));
    }

    @Test
    void floatTensorChecksItsShape() {
        var e = assertThrows(IllegalArgumentException.class, () -> new FloatTensor(new float[5], new long[] {2, 3}));
        assertTrue(e.getMessage().contains("holds 6 values but 5 arrived"), e.getMessage());
        assertArrayEquals(new long[] {1, 0}, new FloatTensor(new float[] {1, 3, 2, 9, 9, 9}, new long[] {2, 3})
                .argmaxLastDim());
    }
}
