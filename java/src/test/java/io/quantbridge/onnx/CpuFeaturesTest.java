package io.quantbridge.onnx;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CpuFeaturesTest {
    @Test
    void x86WithoutVnniSaturatesWithVnniDoesNot(@TempDir Path dir) throws Exception {
        Path avx2 = Files.writeString(dir.resolve("avx2"), "processor\t: 0\nmodel name\t: AMD EPYC\n"
                + "flags\t\t: fpu sse sse2 ssse3 fma avx avx2 bmi2\n\nprocessor\t: 1\n");
        Path vnni = Files.writeString(dir.resolve("vnni"), "flags\t\t: fpu avx2 avx512f avx512bw avx512_vnni\n");
        Path avxVnni = Files.writeString(dir.resolve("avxvnni"), "flags\t\t: fpu avx2 avx_vnni\n");
        assertEquals(Optional.of(true), CpuFeatures.probe(avx2, "amd64"));
        assertEquals(Optional.of(false), CpuFeatures.probe(vnni, "amd64"));
        assertEquals(Optional.of(false), CpuFeatures.probe(avxVnni, "x86_64"));
    }

    @Test
    void otherArchitecturesAndUnreadableFlags(@TempDir Path dir) throws Exception {
        Path arm = Files.writeString(dir.resolve("arm"), "Features\t: fp asimd asimddp\n");
        assertEquals(Optional.of(false), CpuFeatures.probe(arm, "aarch64"));
        assertEquals(Optional.empty(), CpuFeatures.probe(dir.resolve("missing"), "amd64"));
        assertEquals(Optional.empty(), CpuFeatures.probe(arm, "amd64"));
    }
}
