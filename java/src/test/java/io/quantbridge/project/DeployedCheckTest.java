package io.quantbridge.project;

import io.quantbridge.config.Fixtures;
import io.quantbridge.onnx.CpuFeatures;
import io.quantbridge.onnx.QdqBuilder;
import io.quantbridge.onnx.WeightType;
import io.quantbridge.params.ParamFile;
import io.quantbridge.params.QuantParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The deployed check's line, and its note where the CPU can saturate int8 weights. */
class DeployedCheckTest {
    @Test
    void int8WeightsGetANoteExactlyWhereTheCpuCanSaturateThem(@TempDir Path dir) throws Exception {
        QuantParams params = ParamFile.read(Fixtures.path("onnx/residual_cnn_quant_param.json"));
        Path signed = dir.resolve("m_int8.onnx");
        Path unsigned = dir.resolve("u_int8.onnx");
        Files.write(signed, QdqBuilder.build(Fixtures.path("onnx/residual_cnn.onnx"), params, WeightType.INT8).toByteArray());
        Files.write(unsigned, QdqBuilder.build(Fixtures.path("onnx/residual_cnn.onnx"), params, WeightType.UINT8).toByteArray());
        String line = "deployed m_int8.onnx (ONNX Runtime): agrees with the quantized model on 99.50% of 200 inputs";
        String s = new DeployedCheck(signed, "ONNX Runtime", 200, 99.5, null).describe();
        assertTrue(s.startsWith(line), s);
        boolean saturates = CpuFeatures.u8s8CanSaturate().orElse(false);
        assertEquals(saturates, s.contains("\nnote: m_int8.onnx has int8 weights and this CPU has no VNNI"), s);
        assertEquals(saturates ? 2 : 1, s.lines().count(), s);
        String u = new DeployedCheck(unsigned, "ONNX Runtime", 200, 100.0, 98.0).describe();
        assertEquals("deployed u_int8.onnx (ONNX Runtime): agrees with the quantized model on 100.00% of 200 inputs; "
                + "top-1 98.00% against the batches' labels", u);
        assertFalse(new DeployedCheck(dir.resolve("m.pb"), "TensorFlow", 1, 100.0, null).describe().contains("note:"));
    }
}
