package io.quantbridge.it.badinput;

import static io.quantbridge.it.badinput.Fixture.BAD;
import static io.quantbridge.it.badinput.Fixture.TORCH_PATH;

import java.util.ArrayList;
import java.util.List;

/** Command-line mistakes: unknown or missing options, bad values, wrong module:function targets. */
final class ArgumentCases {
    private ArgumentCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        out.add(Case.of("no command", List.of("frobnicate"), 2, "frobnicate"));
        out.add(Lines.calibrate(f).add("--no-such-option").expect("unknown option", 2, "--no-such-option"));
        out.add(Lines.calibrate(f).drop("-d").expect("calibrate without --data", 2, "--data"));
        out.add(Lines.calibrate(f).drop("-c").expect("calibrate without --config", 2, "--config"));
        out.add(Lines.calibrate(f).drop("-m").expect("calibrate without --model", 2, "--model"));
        out.add(Lines.train(f).drop("-t").expect("train without --train", 2, "--train"));
        out.add(Lines.export(f).drop("--from").expect("export without --from", 2, "--from"));
        out.add(Lines.report(f).drop("-d").expect("report without --data", 2, "--data"));
        out.add(Lines.sensitivity(f).drop("--min-sqnr").expect("sensitivity without a target", 2, "--max-drop"));
        out.add(Lines.sensitivity(f).set("--max-drop", 1).expect("sensitivity with two targets", 2, "--max-drop"));
        out.add(Lines.sensitivity(f).drop("--min-sqnr").set("--max-drop", 1)
                .expect("sensitivity --max-drop without --eval", 2, "--eval"));
        for (String n : List.of("abc", "-3", "1.5", "99999999999")) {
            out.add(Lines.calibrate(f).set("-n", n).expect("calibrate --batches " + n, 2, n));
        }
        out.add(Lines.calibrate(f).set("--data-arg", "no_equals_sign").expect("--data-arg without '='", 2,
                "no_equals_sign"));
        out.add(Lines.calibrate(f).set("--data-arg", "batch_size=abc").expect("--data-arg of the wrong type", 3,
                "slice indices must be integers"));
        out.add(Lines.calibrate(f).set("--data-arg", "nonsense=1").expect("--data-arg the function does not take", 3,
                "nonsense"));
        out.add(Lines.train(f).set("--train-arg", "steps=-5").expect("--train-arg steps=-5", 3, ""));
        out.add(Lines.calibrate(f).set("--model-arg", "weights=7").expect("--model-arg of the wrong type", 3, ""));
        for (String name : List.of("bad-name", "a/b", "x.y", "", "with space")) {
            out.add(Lines.export(f).set("--name", name).expect("export --name '" + name + "'", 2, "--name"));
        }
        out.add(Lines.train(f).set("--weights", f.floatPth).expect("train --from and --weights", 2, "not both"));
        out.add(Lines.calibrate(f).set("--checkpoint", f.floatCkpt).expect("torch with --checkpoint", 2, "--checkpoint"));
        out.add(Lines.calibrate(f).set("--framework", "tensorflow").expect("--framework disagrees with the config", 2,
                "--framework tensorflow"));
        out.add(Lines.calibrate(f).set("--framework", "mxnet").expect("--framework mxnet", 2, "mxnet"));
        out.add(Lines.calibrate(f).set("-P", f.files.resolve("no_such_dir")).expect("--pythonpath missing", 2,
                "no_such_dir"));
        String[][] targets = {{"-d", "digitsnet.dta:calibration_batches", "digitsnet.dta"},
                {"-d", "digitsnet.data:no_such_function", "no_such_function"}, {"-d", "no_colon", "no_colon"},
                {"-d", ":fn", ":fn"}, {"-d", "digitsnet.data:", "digitsnet.data:"},
                {"-d", "nopackage.mod:fn", "nopackage"}, {"-d", "digitsnet.data:SEED", "SEED"},
                {"-m", "digitsnet.model:nothing", "nothing"}, {"-m", "digitsnet.modl:build_model", "digitsnet.modl"},
                {"--eval", "digitsnet.train:nope", "nope"}, {"--eval", "digitsnet.train", "digitsnet.train"}};
        for (String[] t : targets) {
            out.add(Lines.calibrate(f).set(t[0], t[1]).expect(t[0] + " " + t[1], 2, t[2]));
        }
        out.add(Lines.train(f).set("-t", "digitsnet.train:nope").expect("--train missing function", 2, "nope"));
        out.add(Lines.train(f).set("-t", BAD + "none_model").set("-P", TORCH_PATH)
                .expect("--train a function that takes no model", 3, "none_model"));
        out.add(Lines.calibrate(f).set("--report", f.files.resolve("no_report_dir")).expect("--report missing dir", 2,
                "no_report_dir"));
        out.add(Lines.train(f).set("--report", f.out).expect("train --report without --data", 2, "--data"));
        out.add(Lines.export(f).set("-o", f.files.resolve("no_out_dir")).expect("export --out missing", 2, "no_out_dir"));
        out.add(Lines.export(f).set("-o", f.floatPth).expect("export --out a file", 2, "float.pth"));
        return out;
    }
}
