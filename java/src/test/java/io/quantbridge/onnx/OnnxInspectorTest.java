package io.quantbridge.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbridge.params.QuantParams;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxInspectorTest {
    @Test
    void listsQuantizedLayersWithTheirParameters() throws Exception {
        ModelProto f = TinyCnn.model(42, 13);
        QuantParams p = TinyCnn.params(f, new double[][] {{-3, 3}, {0, 4}, {-2, 5}});
        List<QuantizedNode> layers = OnnxInspector.quantizedLayers(QdqBuilder.build(f, p));
        assertEquals(List.of("/conv1/Conv", "/conv2/Conv", "/fc/Gemm"), layers.stream().map(QuantizedNode::node).toList());
        QuantizedNode fc = layers.get(2);
        assertEquals("Gemm", fc.opType());
        assertEquals("fc.weight_quantized", fc.weight().tensor());
        assertEquals("uint8", fc.weight().dtype(), "the default weight type: int8 codes plus 128");
        assertEquals(List.of(10L, 256L), fc.weight().shape());
        assertEquals(0, fc.weight().axis());
        assertEquals(p.layers().get(2).weight().scale(), fc.weight().scales());
        assertEquals(java.util.Collections.nCopies(10, 128), fc.weight().zeroPoints());
        QuantizedNode signed = OnnxInspector.quantizedLayers(QdqBuilder.build(f, p, WeightType.INT8)).get(2);
        assertEquals("int8", signed.weight().dtype());
        assertEquals(java.util.Collections.nCopies(10, 0), signed.weight().zeroPoints());
        assertEquals("flat", fc.activation().tensor());
        assertEquals("uint8", fc.activation().dtype());
        assertNull(fc.activation().axis());
        assertEquals(List.of(p.layers().get(2).activation().zeroPoint()), fc.activation().zeroPoints());
        assertEquals((float) p.layers().get(2).activation().scale(), fc.activation().scales().get(0).floatValue());
        assertTrue(OnnxInspector.quantizedLayers(f).isEmpty());
    }

    @Test
    void summarizesFloatAndQdqModels() throws Exception {
        ModelProto f = TinyCnn.model(42, 13);
        ModelSummary s = OnnxInspector.summary(f);
        assertEquals(2, s.conv());
        assertEquals(1, s.gemm());
        assertEquals(0, s.matMul());
        assertFalse(s.batchNorm());
        assertFalse(s.isQuantized());
        assertEquals(13, s.opset());
        assertEquals(5, s.nodes());
        assertEquals(List.of("x"), s.inputs());
        assertEquals(List.of("logits"), s.outputs());
        assertEquals(2, s.opCounts().get("Conv"));
        assertEquals("Conv", s.opCounts().keySet().iterator().next());
        ModelSummary q = OnnxInspector.summary(QdqBuilder.build(f, TinyCnn.params(f, new double[][] {{-3, 3}, {0, 4},
                {-2, 5}})));
        assertTrue(q.isQuantized());
        assertEquals(3, q.quantizeLinear());
        assertEquals(6, q.dequantizeLinear());
        assertTrue(q.producer().startsWith("QuantBridge"));
    }
}
