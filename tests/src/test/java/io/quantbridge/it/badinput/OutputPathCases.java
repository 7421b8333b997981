package io.quantbridge.it.badinput;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Outputs that cannot be written: unwritable directories, names too long, directories as files. */
final class OutputPathCases {
    private OutputPathCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        Path locked = unwritable(f);
        String name300 = "n".repeat(296) + ".pth";
        String prefix220 = "c".repeat(215) + ".ckpt";
        out.add(Lines.calibrate(f).set("-o", locked.resolve("q.pth")).expect("calibrate into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.train(f).set("-o", locked.resolve("t.pth")).expect("train into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.export(f).set("-o", locked).expect("export into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.report(f).set("-o", locked).expect("report into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.config(f).set("-o", locked.resolve("c.json")).expect("config into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.sensitivity(f).set("-o", locked.resolve("m.json")).expect("sensitivity into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.calibrate(f).set("--report", locked).expect("calibrate --report into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.tfCalibrate(f).set("-o", locked.resolve("q.ckpt")).expect("TF calibrate into an unwritable dir", 2,
                "cannot write into the directory " + locked));
        out.add(Lines.tfExport(f).set("-o", locked).expect("TF export into an unwritable dir", 2,
                "cannot write into the directory " + locked));

        out.add(Lines.calibrate(f).set("-o", f.work.resolve(name300)).expect("calibrate -o 300-byte name", 2,
                "is 300 bytes long"));
        out.add(Lines.train(f).set("-o", f.work.resolve(name300)).expect("train -o 300-byte name", 2, "is 300 bytes long"));
        out.add(Lines.config(f).set("-o", f.work.resolve(name300)).expect("config -o 300-byte name", 2,
                "is 300 bytes long"));
        out.add(Lines.sensitivity(f).set("-o", f.work.resolve(name300)).expect("sensitivity -o 300-byte name", 2,
                "is 300 bytes long"));
        out.add(Lines.export(f).set("--name", "m".repeat(250)).expect("export --name of 250 letters", 2,
                "bytes long"));
        out.add(Lines.tfCalibrate(f).set("-o", f.work.resolve(prefix220)).expect("TF calibrate -o 220-byte prefix", 2,
                "bytes long", "TensorFlow adds"));
        out.add(Lines.tfTrain(f).set("-o", f.work.resolve(prefix220)).expect("TF train -o 220-byte prefix", 2,
                "bytes long"));
        out.add(Lines.calibrate(f).set("--weights", f.work.resolve(name300)).expect("--weights of a 300-byte name", 2,
                "--weights", "does not exist"));

        out.add(Lines.calibrate(f).set("-o", f.out).expect("calibrate -o a directory", 2, "is a directory"));
        out.add(Lines.train(f).set("-o", f.out).expect("train -o a directory", 2, "is a directory"));
        out.add(Lines.config(f).set("-o", f.out).expect("config -o a directory", 2, "is a directory"));
        out.add(Lines.calibrate(f).set("-o", f.work.resolve("no_dir/q.pth")).expect("calibrate -o into a missing dir", 2,
                "does not exist"));
        out.add(Lines.train(f).set("-o", f.work.resolve("no_dir/t.pth")).expect("train -o into a missing dir", 2,
                "does not exist"));
        out.add(Lines.config(f).set("-o", f.work.resolve("no_dir/c.json")).expect("config -o into a missing dir", 2,
                "does not exist"));
        out.add(Lines.tfCalibrate(f).set("-o", f.work.resolve("no_dir/q.ckpt")).expect("TF calibrate -o missing dir", 2,
                "does not exist"));
        out.add(Lines.calibrate(f).set("-o", f.floatPth.resolve("q.pth")).expect("calibrate -o under a file", 2,
                "does not exist"));
        return out;
    }

    /**
     * A directory no file can be created in. Permission bits stop ordinary users; root ignores
     * them, so then a read-only system directory stands in ({@code /sys}, {@code /proc}).
     */
    static Path unwritable(Fixture f) {
        try {
            Path locked = Files.createDirectories(f.root.resolve("locked"));
            locked.toFile().setWritable(false, false);
            try {
                Files.delete(Files.createTempFile(locked, "probe", ".tmp"));
            } catch (java.io.IOException denied) {
                return locked;
            }
            locked.toFile().setWritable(true, false);
            for (String p : List.of("/sys", "/proc")) {
                Path d = Path.of(p);
                try {
                    Files.delete(Files.createTempFile(d, "probe", ".tmp"));
                } catch (java.io.IOException denied) {
                    if (Files.isDirectory(d)) {
                        return d;
                    }
                }
            }
            throw new IllegalStateException("no unwritable directory found");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
