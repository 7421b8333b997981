package io.quantbridge.it.badinput;

import static io.quantbridge.it.badinput.Fixture.BAD;
import static io.quantbridge.it.badinput.Fixture.TF_BAD;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --force} over good files the user has, with an input that must fail: the good file stays
 * byte for byte (a NaN state never replaces it), and without {@code --force} nothing is replaced.
 */
final class ForceCases {
    private ForceCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        Path goodQuant = copy(f.quantPth, f.work.resolve("kept_quant.pth"));
        Path goodTrained = copy(f.quantPth, f.work.resolve("kept_trained.pth"));
        Path goodConfig = copy(f.config, f.work.resolve("kept_config.json"));
        Path goodMixed = copy(f.config, f.work.resolve("kept_mixed.json"));
        Path exportDir = dir(f.root.resolve("kept_export"));
        copy(f.config, exportDir.resolve("model.onnx"));
        copy(f.config, exportDir.resolve("model_int8.onnx"));
        copy(f.config, exportDir.resolve("model_quant_param.json"));
        Path tfDir = dir(f.root.resolve("kept_tf"));
        for (String suffix : List.of(".index", ".data-00000-of-00001")) {
            copy(Path.of(f.quantCkpt + suffix), tfDir.resolve("trained.ckpt" + suffix));
        }
        Path tfTrained = tfDir.resolve("trained.ckpt");

        out.add(Lines.calibrate(f).set("-o", goodQuant).set("--force", null).set("-d", BAD + "nan_batches")
                .expect("--force calibrate over a good state with NaN batches", 2, "nan_batches"));
        out.add(Lines.calibrate(f).set("-o", goodQuant).set("--force", null).set("-d", BAD + "overflowing_batches")
                .expect("--force calibrate over a good state, overflowing to Inf", 5, "overflowed"));
        out.add(Lines.calibrate(f).set("-o", goodQuant).set("--force", null).set("--weights", f.file("float_nan_bn1_bias"))
                .expect("--force calibrate over a good state with NaN weights", 2, "bn1.bias"));
        out.add(Lines.calibrate(f).set("-o", goodQuant).expect("calibrate without --force over a good state", 2,
                "refusing to overwrite", "--force"));
        for (String fn : List.of("diverging_train", "nan_weights_train", "nan_scale_train", "swapping_train",
                "raising_train", "progress_string_train")) {
            int exit = fn.startsWith("swapping") || fn.startsWith("progress") ? 2 : fn.startsWith("raising") ? 3 : 5;
            out.add(Lines.train(f).set("-o", goodTrained).set("--force", null).set("-t", BAD + fn)
                    .expect("--force train over a good state, " + fn, exit, fn.startsWith("raising") ? "on purpose"
                            : fn.startsWith("progress") ? "progress('a')" : BAD + fn));
        }
        out.add(Lines.train(f).set("-o", goodTrained).set("--force", null).set("--from", f.file("quant_nan_conv1_weight"))
                .expect("--force train over a good state from a NaN state", 2, "conv1.weight"));
        out.add(Lines.config(f).set("-o", goodConfig).set("--force", null).set("--input-shape", "x:1,1,16,16")
                .expect("--force config over a good config, shape the model cannot run", 2, "x:1,1,16,16"));
        out.add(Lines.config(f).set("-o", goodConfig).set("--force", null).set("-m", BAD + "raising_model")
                .expect("--force config over a good config, factory raises", 3, "on purpose"));
        out.add(Lines.sensitivity(f).set("-o", goodMixed).set("--force", null).set("-d", BAD + "nan_numpy")
                .expect("--force sensitivity over a good config with NaN batches", 2, "nan_numpy"));
        for (String bad : List.of("quant_nan_conv1_weight", "quant_evil_system", "quant_truncated_half",
                "quant_uncalibrated")) {
            out.add(Lines.export(f).set("-o", exportDir).set("--name", "model").set("--force", null)
                    .set("--from", f.file(bad)).expect("--force export over good files from " + bad, 2, "--from"));
        }
        out.add(Lines.export(f).set("-o", exportDir).set("--name", "model").expect("export without --force over files",
                2, "refusing to overwrite"));
        out.add(Lines.export(f).set("-o", exportDir).set("--name", "model").set("--force", null)
                .set("--eval", BAD + "eval_nan").expect("--force export over good files, eval NaN", 2, "NaN"));
        out.add(Lines.tfTrain(f).set("-o", tfTrained).set("--force", null).set("-t", TF_BAD + "diverging_train")
                .drop("--train-arg").expect("--force TF train over a good checkpoint, diverging", 5,
                        "refusing to write the checkpoint"));
        out.add(Lines.tfTrain(f).set("-o", tfTrained).set("--force", null).set("-t", TF_BAD + "nan_weights_train")
                .drop("--train-arg").expect("--force TF train over a good checkpoint, NaN weights", 5, "fc/kernel"));
        out.add(Lines.tfCalibrate(f).set("-o", tfTrained).set("--force", null).set("--checkpoint", f.nanCkpt)
                .expect("--force TF calibrate over a good checkpoint from a NaN checkpoint", 2, "conv1/kernel"));
        out.add(Lines.tfTrain(f).set("-o", tfTrained).expect("TF train without --force over a checkpoint", 2,
                "refusing to overwrite"));
        return out;
    }

    static Path copy(Path from, Path to) {
        try {
            return Files.copy(from, to);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path dir(Path p) {
        try {
            return Files.createDirectories(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
