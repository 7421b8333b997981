package io.quantbridge.runtime;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.Version;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The Python shim ({@code quantbridge} package) shipped inside the QuantBridge jar under
 * {@code io/quantbridge/shim/}: extracted once per content hash into a directory under
 * {@code java.io.tmpdir} (or {@code quantbridge.shim.dir}) and put first on {@code sys.path},
 * so the Python half always matches the Java half, wherever the jar is.
 */
final class ShimInstaller {
    static final String PREFIX = "io/quantbridge/shim/";

    private ShimInstaller() {
    }

    /** The directory holding {@code quantbridge/}, extracted if needed; empty if the jar carries no shim. */
    static java.util.Optional<Path> install() throws QuantBridgeException {
        Map<String, byte[]> files = read();
        if (files.isEmpty()) {
            return java.util.Optional.empty();
        }
        String hash = hash(files);
        String base = System.getProperty("quantbridge.shim.dir", System.getProperty("java.io.tmpdir"));
        Path target = Path.of(base).toAbsolutePath().resolve("quantbridge-shim-" + Version.current() + "-" + hash);
        if (Files.isRegularFile(target.resolve(".complete"))) {
            return java.util.Optional.of(target);
        }
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempDirectory(target.getParent(), "quantbridge-shim-tmp-");
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                Path f = tmp.resolve(e.getKey());
                Files.createDirectories(f.getParent());
                Files.write(f, e.getValue());
            }
            Files.writeString(tmp.resolve(".complete"), hash + "\n");
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // Another JVM (or thread) extracted the same content first: rename(2) then fails with
                // EEXIST or ENOTEMPTY, which Java reports as a plain FileSystemException. The winner's
                // directory is complete by construction (it was renamed into place with its marker).
                deleteTree(tmp);
                if (!Files.isRegularFile(target.resolve(".complete"))) {
                    throw raced;
                }
            }
            return java.util.Optional.of(target);
        } catch (IOException e) {
            throw new QuantBridgeException("cannot extract the Python shim from the QuantBridge jar into " + target
                    + ": " + e.getMessage() + "; set -Dquantbridge.shim.dir to a writable directory", e);
        }
    }

    /** The shim's files (relative path to bytes) from the jar or class directory holding this class. */
    private static Map<String, byte[]> read() throws QuantBridgeException {
        Map<String, byte[]> out = new TreeMap<>();
        Path source;
        try {
            source = Path.of(ShimInstaller.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            return out;
        }
        try {
            if (Files.isDirectory(source)) {
                Path root = source.resolve(PREFIX);
                if (!Files.isDirectory(root)) {
                    return out;
                }
                List<Path> all;
                try (Stream<Path> walk = Files.walk(root)) {
                    all = walk.filter(Files::isRegularFile).toList();
                }
                for (Path p : all) {
                    out.put(root.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
                }
            } else {
                try (JarFile jar = new JarFile(source.toFile())) {
                    for (JarEntry e : new ArrayList<>(jar.stream().toList())) {
                        if (!e.isDirectory() && e.getName().startsWith(PREFIX)) {
                            try (InputStream in = jar.getInputStream(e)) {
                                out.put(e.getName().substring(PREFIX.length()), in.readAllBytes());
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new QuantBridgeException("cannot read the Python shim from " + source + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static String hash(Map<String, byte[]> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            files.forEach((k, v) -> {
                md.update(k.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(v);
            });
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary directory is harmless
        }
    }
}
