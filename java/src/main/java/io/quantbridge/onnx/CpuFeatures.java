package io.quantbridge.onnx;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What this machine's CPU means for ONNX Runtime's integer kernels. On x86 without VNNI
 * ({@code avx512_vnni} or {@code avx_vnni}), ONNX Runtime runs u8*s8 products with
 * {@code VPMADDUBSW}, which adds two products into a 16-bit lane and saturates it: an INT8 ONNX
 * with int8 weights can then compute other numbers than its fake-quant model (uint8 weights run
 * u8*u8 kernels, which widen first and never saturate). Read from {@code /proc/cpuinfo}; empty
 * where that cannot be read.
 */
public final class CpuFeatures {
    private static final Optional<Boolean> SATURATES = probe(Path.of("/proc/cpuinfo"), System.getProperty("os.arch", ""));

    private CpuFeatures() {
    }

    /**
     * True on an x86 CPU without VNNI (ONNX Runtime's u8*s8 kernels can saturate), false where it has
     * VNNI or is not x86, empty where the flags cannot be read.
     */
    public static Optional<Boolean> u8s8CanSaturate() {
        return SATURATES;
    }

    /** The answer for a cpuinfo file and an {@code os.arch} value. */
    static Optional<Boolean> probe(Path cpuinfo, String arch) {
        String a = arch.toLowerCase(Locale.ROOT);
        if (!(a.equals("amd64") || a.equals("x86_64") || a.equals("x86") || a.equals("i386"))) {
            return Optional.of(false);
        }
        String text;
        try {
            text = Files.readString(cpuinfo, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        for (String line : text.split("\n")) {
            if (line.startsWith("flags")) {
                int colon = line.indexOf(':');
                Set<String> flags = Set.of(line.substring(colon + 1).trim().split("\\s+"));
                return Optional.of(!(flags.contains("avx512_vnni") || flags.contains("avx_vnni")));
            }
        }
        return Optional.empty();
    }
}
