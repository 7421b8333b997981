package io.quantbridge.cli;

import io.quantbridge.QuantBridgeException;
import io.quantbridge.runtime.PythonRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import picocli.CommandLine.Option;

/**
 * {@code --vendor-names}: refuse output paths that the vendor's own tool could not read. The rule
 * (directory names: letters, digits, {@code _}; file names: also {@code .}) has one owner, the
 * shim's {@code quantbridge.common.paths.check_vendor_path}; without this option no path is held
 * to it.
 */
final class VendorNamesOption {
    @Option(names = "--vendor-names",
            description = "Refuse output paths the vendor's own tool could not read: directory names other than "
                    + "letters, digits and '_', file names other than letters, digits, '_' and '.'. Checked before "
                    + "any work starts.")
    boolean enabled;

    /**
     * Checks every output path (directories as directories, the rest as file paths) when the
     * option is on.
     *
     * @throws QuantBridgeException naming the first part that breaks the rule
     */
    void check(PythonRuntime rt, List<Path> outputs) throws QuantBridgeException {
        if (!enabled) {
            return;
        }
        for (Path p : outputs.stream().filter(Objects::nonNull).toList()) {
            String kind = Files.isDirectory(p) ? "dir" : "file";
            rt.call("quantbridge.common.paths:check_vendor_path", p.toString(), kind, "output path");
        }
    }
}
