package io.quantbridge.project;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.io.Leftovers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks of the files a step reads and writes, done before any long work: inputs exist, output
 * directories exist, nothing is overwritten unless asked; TensorFlow checkpoint prefixes. The
 * output checks also remove what a killed run left in the output directory ({@link Leftovers}).
 */
public final class ProjectFiles {
    private static final Pattern LATEST = Pattern.compile("(?m)^model_checkpoint_path:\\s*\"(.*)\"\\s*$");
    /** Longest file name (bytes) on common file systems (ext4, xfs, btrfs, tmpfs, APFS, NTFS in UTF-16 units). */
    static final int NAME_MAX = 255;
    /**
     * Bytes TensorFlow 2.8 adds to a checkpoint prefix's name while saving (its temporary
     * directory {@code PREFIX_temp/...}): the longest prefix name it saves is 207 bytes.
     */
    static final int CHECKPOINT_SUFFIX = 48;

    private ProjectFiles() {
    }

    /**
     * Checks that {@code file} is an existing regular file.
     *
     * @param option the option that named it, for the message
     * @throws QuantBridgeException if it does not exist or is a directory
     */
    public static Path requireFile(Path file, String option) throws QuantBridgeException {
        if (!Files.isRegularFile(file)) {
            throw new QuantBridgeException(option + " " + file + (Files.isDirectory(file) ? " is a directory" : " does not exist")
                    + "; expected an existing file");
        }
        return file;
    }

    /**
     * Checks that {@code dir} is an existing directory.
     *
     * @throws QuantBridgeException if it is not, saying to create it
     */
    public static Path requireDirectory(Path dir, String option) throws QuantBridgeException {
        if (!Files.isDirectory(dir)) {
            throw new QuantBridgeException(option + " " + dir + ": the output directory does not exist; create it first "
                    + "(mkdir -p " + shellWord(dir.toString()) + ")");
        }
        return dir;
    }

    /** {@code s} as one POSIX shell word: as it is when it is only safe characters, else single-quoted. */
    static String shellWord(String s) {
        if (!s.isEmpty() && s.matches("[A-Za-z0-9_./:=@%+,-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /**
     * Checks that the files {@code names} may be written into {@code dir}: the directory exists
     * and none of them exists unless {@code force}.
     *
     * @throws QuantBridgeException naming the missing directory or the existing files
     */
    public static void checkOutputs(Path dir, List<String> names, boolean force, String option)
            throws QuantBridgeException {
        requireDirectory(dir, option);
        for (String n : names) {
            checkNameLength(dir.resolve(n), 0, option);
        }
        requireWritable(dir, option);
        Leftovers.sweep(dir);
        if (force) {
            return;
        }
        List<String> existing = new ArrayList<>();
        for (String n : names) {
            if (Files.exists(dir.resolve(n))) {
                existing.add(dir.resolve(n).toString());
            }
        }
        if (!existing.isEmpty()) {
            throw new QuantBridgeException("refusing to overwrite existing " + String.join(", ", existing)
                    + "; pass --force to replace, or choose another " + option);
        }
    }

    /**
     * Checks that {@code file} may be written: its directory exists and it does not exist unless {@code force}.
     *
     * @throws QuantBridgeException naming the missing directory or the existing file
     */
    public static void checkOutput(Path file, boolean force, String option) throws QuantBridgeException {
        Path dir = requireParent(file, option);
        Leftovers.sweep(dir);
        if (Files.isDirectory(file)) {
            throw new QuantBridgeException(option + " " + file + " is a directory; expected a file name");
        }
        checkNameLength(file, 0, option);
        requireWritable(dir, option);
        if (!force && Files.exists(file)) {
            throw new QuantBridgeException("refusing to overwrite existing " + file + "; pass --force to replace, or "
                    + "choose another " + option);
        }
    }

    /**
     * Checks that the TensorFlow checkpoint {@code prefix} may be written (its {@code .index}
     * file decides whether it exists).
     *
     * @throws QuantBridgeException naming the missing directory or the existing checkpoint
     */
    public static void checkCheckpointOutput(Path prefix, boolean force, String option) throws QuantBridgeException {
        Path dir = requireParent(prefix, option);
        checkNameLength(prefix, CHECKPOINT_SUFFIX, option);
        requireWritable(dir, option);
        Leftovers.sweep(dir);
        Path index = dir.resolve(prefix.getFileName() + ".index");
        if (!force && Files.exists(index)) {
            throw new QuantBridgeException("refusing to overwrite the existing checkpoint " + prefix + " (" + index
                    + "); pass --force to replace, or choose another " + option);
        }
    }

    /**
     * The checkpoint prefix {@code path} stands for: a prefix {@code x.ckpt} (with
     * {@code x.ckpt.index} beside it), the {@code .index} file itself, or a directory with a
     * {@code checkpoint} state file (its latest checkpoint).
     *
     * @throws QuantBridgeException if no checkpoint is found there
     */
    public static Path checkpointPrefix(Path path, String option) throws QuantBridgeException {
        if (Files.isDirectory(path)) {
            Path state = path.resolve("checkpoint");
            if (Files.isRegularFile(state)) {
                try {
                    Matcher m = LATEST.matcher(Files.readString(state));
                    if (m.find()) {
                        Path latest = path.resolve(m.group(1));
                        if (Files.exists(Path.of(latest + ".index"))) {
                            return latest;
                        }
                    }
                } catch (IOException e) {
                    throw new QuantBridgeException(option + " " + path + ": cannot read " + state + ": " + e.getMessage(), e);
                }
            }
            throw new QuantBridgeException(option + " " + path + " is a directory without a usable 'checkpoint' state "
                    + "file; pass the checkpoint prefix (what Saver.save returned, e.g. " + path.resolve("model.ckpt") + ")");
        }
        if (Files.isRegularFile(Path.of(path + ".index"))) {
            return path;
        }
        String s = path.toString();
        if (s.endsWith(".index") && Files.isRegularFile(path)) {
            return Path.of(s.substring(0, s.length() - ".index".length()));
        }
        throw new QuantBridgeException(option + " " + path + ": no TensorFlow checkpoint there (expected " + path
                + ".index beside it); pass the prefix Saver.save returned, e.g. float.ckpt for float.ckpt.index");
    }

    /**
     * Checks that {@code dir} takes new files, by creating and deleting an empty one (permission
     * bits do not tell: root ignores them, read-only and virtual file systems refuse anyway).
     *
     * @throws QuantBridgeException naming the directory and the reason
     */
    public static void requireWritable(Path dir, String option) throws QuantBridgeException {
        try {
            Files.delete(Files.createTempFile(dir, ".qb-probe-", ".tmp"));
        } catch (IOException | SecurityException e) {
            String why = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                    : e.getClass().getSimpleName();
            throw new QuantBridgeException(option + ": cannot write into the directory " + dir.toAbsolutePath().normalize()
                    + " (" + why + "); choose a writable directory");
        }
    }

    /**
     * Checks that the file name of {@code file} plus {@code extra} bytes that the writer appends
     * fits the file system's limit of {@value #NAME_MAX} bytes per name.
     *
     * @throws QuantBridgeException naming the option and the length
     */
    static void checkNameLength(Path file, int extra, String option) throws QuantBridgeException {
        Path name = file.getFileName();
        int bytes = name == null ? 0 : name.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes + extra > NAME_MAX) {
            throw new QuantBridgeException(option + ": the file name " + abbreviate(name.toString()) + " is " + bytes
                    + " bytes long; file systems allow " + NAME_MAX + (extra > 0 ? " including the " + extra
                    + " bytes TensorFlow adds while saving a checkpoint" : "") + "; choose a shorter name");
        }
    }

    private static String abbreviate(String name) {
        return "'" + (name.length() > 40 ? name.substring(0, 20) + "..." + name.substring(name.length() - 12) : name) + "'";
    }

    private static Path requireParent(Path file, String option) throws QuantBridgeException {
        Path dir = parent(file);
        if (!Files.isDirectory(dir)) {
            throw new QuantBridgeException(option + " " + file + ": its directory " + dir + " does not exist; create it "
                    + "first (mkdir -p " + dir + ")");
        }
        return dir;
    }

    private static Path parent(Path file) {
        return file.getParent() != null ? file.getParent() : Path.of(".");
    }
}
