package io.quantbridge.it.badinput;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every damaged, foreign, non-finite and malicious {@code .pth} ({@code qb_badinput.py}) given to
 * every option that reads one: {@code --weights} of calibrate, train and sensitivity, {@code --from}
 * of train, export and report. A malicious file's code would create a file under the fixture, which
 * the snapshot would show.
 */
final class StateFileCases {
    private StateFileCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        for (Map.Entry<String, Path> e : f.stateFiles.entrySet()) {
            String name = e.getKey();
            Path file = e.getValue();
            String what = expected(name);
            String fileName = file.getFileName().toString();
            if (name.startsWith("float_") || name.equals("foreign_model_state")) {
                out.add(Lines.calibrate(f).set("--weights", file).expect("--weights " + name + " / calibrate", 2,
                        "--weights", fileName, what));
                out.add(Lines.train(f).drop("--from").set("--weights", file).expect("--weights " + name + " / train", 2,
                        "--weights", fileName, what));
                out.add(Lines.sensitivity(f).set("--weights", file).expect("--weights " + name + " / sensitivity", 2,
                        "--weights", fileName, what));
            }
            if (name.startsWith("quant_") || name.equals("foreign_model_state")) {
                out.add(Lines.train(f).set("--from", file).expect("--from " + name + " / train", 2, "--from", fileName,
                        what));
                out.add(Lines.export(f).set("--from", file).expect("--from " + name + " / export", 2, "--from", fileName,
                        what));
                out.add(Lines.report(f).set("--from", file).expect("--from " + name + " / report", 2, "--from", fileName,
                        what));
            }
        }
        // a missing file and a directory
        for (String opt : List.of("--weights", "--from")) {
            Path missing = f.files.resolve("no_such_state.pth");
            Lines line = opt.equals("--weights") ? Lines.calibrate(f) : Lines.export(f);
            out.add(line.set(opt, missing).expect(opt + " missing file", 2, opt, "no_such_state.pth", "does not exist"));
            line = opt.equals("--weights") ? Lines.calibrate(f) : Lines.export(f);
            out.add(line.set(opt, f.files).expect(opt + " a directory", 2, opt, "is a directory"));
        }
        // the opt-out loads a trusted file and still checks what it holds
        out.add(Lines.calibrate(f).set("--weights", f.file("float_nan_conv1_weight")).set("--trust-pickle", null)
                .expect("--trust-pickle still refuses NaN", 2, "conv1.weight", "NaN"));
        return out;
    }

    /** What the error line must say about the file, by the kind of damage. */
    private static String expected(String name) {
        String kind = name.replaceFirst("^(float|quant)_", "");
        if (kind.startsWith("evil")) {
            return "was refused";
        }
        if (kind.startsWith("nan_")) {
            return "NaN";
        }
        if (kind.startsWith("inf_") || kind.startsWith("neginf_")) {
            return "Inf";
        }
        return switch (kind) {
            case "empty" -> "is empty";
            case "list", "tensor", "int" -> "not a state dict";
            case "missing_key" -> "missing keys";
            case "extra_key" -> "unexpected keys";
            case "wrong_shape" -> "shape mismatch";
            case "whole_model" -> "was refused";
            case "torchscript" -> "TorchScript";
            case "checkpoint_dict_nan" -> "NaN";
            case "is_quant" -> "unexpected keys";
            case "is_float" -> "missing keys";
            case "uncalibrated" -> "never calibrated";
            case "foreign_model_state", "model_state" -> "keys";
            default -> "cannot be read by torch.load";
        };
    }
}
