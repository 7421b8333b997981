package io.quantbridge.it.badinput;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Damaged TensorFlow checkpoints: empty, truncated or random {@code .index} and {@code .data}
 * files, an index without data, and another graph's checkpoint (the PyTorch weights' directory).
 */
final class TfCheckpointCases {
    private TfCheckpointCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        Path dir = ForceCases.dir(f.root.resolve("tf_damaged"));
        String data = ".data-00000-of-00001";
        for (String kind : List.of("float", "quant")) {
            Path good = kind.equals("float") ? f.floatCkpt : f.quantCkpt;
            byte[] index = read(Path.of(good + ".index"));
            byte[] values = read(Path.of(good + data));
            List<Object[]> damages = List.of(
                    new Object[] {"empty_index", new byte[0], values}, new Object[] {"empty_data", index, new byte[0]},
                    new Object[] {"truncated_index", slice(index, index.length / 2), values},
                    new Object[] {"truncated_data", index, slice(values, values.length / 2)},
                    new Object[] {"random_index", random(index.length), values},
                    new Object[] {"random_data", index, random(values.length)}, new Object[] {"no_data", index, null});
            for (Object[] d : damages) {
                Path prefix = dir.resolve(kind + "_" + d[0] + ".ckpt");
                write(Path.of(prefix + ".index"), (byte[]) d[1]);
                if (d[2] != null) {
                    write(Path.of(prefix + data), (byte[]) d[2]);
                }
                String name = prefix.getFileName().toString();
                if (kind.equals("float")) {
                    out.add(Lines.tfCalibrate(f).set("--checkpoint", prefix).expect("TF --checkpoint " + d[0], 2, name));
                } else {
                    out.add(Lines.tfExport(f).set("--from", prefix).expect("TF --from " + d[0] + " / export", 2, name));
                    out.add(Lines.tfReport(f).set("--from", prefix).expect("TF --from " + d[0] + " / report", 2, name));
                }
            }
        }
        out.add(Lines.tfExport(f).set("--from", f.floatCkpt).expect("TF --from a float checkpoint (no ranges)", 2,
                "float.ckpt"));
        return out;
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path p, byte[] b) {
        try {
            Files.write(p, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] slice(byte[] b, int n) {
        return java.util.Arrays.copyOf(b, n);
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new java.util.Random(0).nextBytes(b);
        return b;
    }
}
