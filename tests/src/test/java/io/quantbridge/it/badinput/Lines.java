package io.quantbridge.it.badinput;

import static io.quantbridge.it.badinput.Fixture.GRAPH;
import static io.quantbridge.it.badinput.Fixture.MODEL;
import static io.quantbridge.it.badinput.Fixture.TF_PATH;
import static io.quantbridge.it.badinput.Fixture.TORCH_PATH;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Command lines on the fixture's projects. Each default line writes only to a fresh name under
 * the fixture (so a wrong success shows up as a new file); {@link #set} replaces an option's
 * value, {@link #drop} removes it, {@link #add} appends raw arguments.
 */
final class Lines {
    private final String command;
    private final Map<String, Object> options = new LinkedHashMap<>();
    private final List<Object> raw = new ArrayList<>();

    private Lines(String command) {
        this.command = command;
    }

    static Path fresh(Fixture f, String name) {
        return f.work.resolve("never_" + name);
    }

    private static Lines torch(String command, Fixture f) {
        Lines l = new Lines(command);
        return l.set("-c", f.config).set("-P", TORCH_PATH).set("-m", MODEL);
    }

    private static Lines tf(String command, Fixture f) {
        Lines l = new Lines(command);
        return l.set("-c", f.tfConfig).set("-P", TF_PATH).set("-m", GRAPH);
    }

    static Lines calibrate(Fixture f) {
        return torch("calibrate", f).set("--weights", f.floatPth).set("-d", Fixture.DATA).set("-n", 2)
                .set("-o", fresh(f, "calibrated.pth"));
    }

    static Lines calibrateNoWeights(Fixture f) {
        return calibrate(f).drop("--weights");
    }

    static Lines train(Fixture f) {
        return torch("train", f).set("--from", f.quantPth).set("-t", Fixture.BAD + "good_train")
                .set("-o", fresh(f, "trained.pth"));
    }

    static Lines export(Fixture f) {
        return torch("export", f).set("--from", f.quantPth).set("-o", f.out).set("--name", "never");
    }

    static Lines report(Fixture f) {
        return torch("report", f).set("--from", f.quantPth).set("-d", Fixture.DATA).set("-n", 1).set("-o", f.out);
    }

    static Lines sensitivity(Fixture f) {
        return torch("sensitivity", f).set("--weights", f.floatPth).set("-d", Fixture.DATA).set("-n", 1)
                .set("--min-sqnr", 5).set("-o", fresh(f, "mixed.json"));
    }

    static Lines config(Fixture f) {
        Lines l = new Lines("config");
        return l.set("--framework", "torch").set("-P", TORCH_PATH).set("-m", MODEL).set("--input-shape", "x:1,1,8,8")
                .set("-o", fresh(f, "config.json"));
    }

    static Lines tfConfig(Fixture f) {
        Lines l = new Lines("config");
        return l.set("--framework", "tensorflow").set("-P", TF_PATH).set("-m", GRAPH).set("-o", fresh(f, "tf_config.json"));
    }

    static Lines tfCalibrate(Fixture f) {
        return tf("calibrate", f).set("--checkpoint", f.floatCkpt).set("-d", Fixture.TF_DATA).set("-n", 2)
                .set("-o", fresh(f, "calibrated.ckpt"));
    }

    static Lines tfTrain(Fixture f) {
        return tf("train", f).set("--from", f.quantCkpt).set("-t", Fixture.TF_TRAIN).set("--train-arg", "epochs=1")
                .set("-o", fresh(f, "trained.ckpt"));
    }

    static Lines tfExport(Fixture f) {
        return tf("export", f).set("--from", f.quantCkpt).set("-o", f.out).set("--name", "never");
    }

    static Lines tfReport(Fixture f) {
        return tf("report", f).set("--from", f.quantCkpt).set("-d", Fixture.TF_DATA).set("-n", 1).set("-o", f.out);
    }

    /** Sets (or replaces) {@code option}'s value; a null value makes it a flag. */
    Lines set(String option, Object value) {
        options.remove(option);
        options.put(option, value);
        return this;
    }

    /** Removes {@code option}. */
    Lines drop(String option) {
        options.remove(option);
        return this;
    }

    /** Appends raw arguments after the options. */
    Lines add(Object... args) {
        raw.addAll(List.of(args));
        return this;
    }

    /** The command line. */
    List<String> args() {
        List<Object> out = new ArrayList<>();
        out.add(command);
        options.forEach((k, v) -> {
            out.add(k);
            if (v != null) {
                out.add(v);
            }
        });
        out.addAll(raw);
        return Case.line(out.toArray());
    }

    /** This line as a case. */
    Case expect(String name, int exit, String... fragments) {
        return Case.of(name, args(), exit, fragments);
    }
}
