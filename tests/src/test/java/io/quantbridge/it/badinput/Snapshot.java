package io.quantbridge.it.badinput;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Every file under a directory with its size, modification time and SHA-256, to prove nothing changed. */
record Snapshot(Map<String, String> files) {
    /** The files under {@code root} ({@code __pycache__} left out). */
    static Snapshot of(Path root) {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (p.toString().contains("__pycache__")) {
                    continue;
                }
                String key = root.relativize(p).toString();
                if (Files.isDirectory(p)) {
                    files.put(key + "/", "dir");
                } else {
                    files.put(key, Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis() + " " + sha256(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Snapshot(files);
    }

    /** What differs from {@code before}: changed, removed and new entries (empty when equal). */
    List<String> diff(Snapshot before) {
        List<String> out = new ArrayList<>();
        before.files.forEach((k, v) -> {
            String now = files.get(k);
            if (now == null) {
                out.add("removed " + k);
            } else if (!now.equals(v)) {
                out.add("changed " + k);
            }
        });
        files.keySet().stream().filter(k -> !before.files.containsKey(k)).forEach(k -> out.add("new " + k));
        return out;
    }

    private static String sha256(Path p) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
