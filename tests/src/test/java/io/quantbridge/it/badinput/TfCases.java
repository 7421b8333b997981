package io.quantbridge.it.badinput;

import static io.quantbridge.it.badinput.Fixture.TF_BAD;

import java.util.ArrayList;
import java.util.List;

/**
 * TensorFlow inputs whose checks are shared with PyTorch: NaN in checkpoints (float and
 * calibrated), training that diverges, progress calls and evaluation results, configs and graph
 * builders.
 */
final class TfCases {
    private TfCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        String nanFloat = f.nanCkpt.getFileName().toString();
        String nanQuant = f.nanQuantCkpt.getFileName().toString();
        out.add(Lines.tfCalibrate(f).set("--checkpoint", f.nanCkpt).expect("TF calibrate from a NaN float checkpoint",
                2, nanFloat, "conv1/kernel", "NaN"));
        out.add(Lines.tfTrain(f).drop("--from").set("--checkpoint", f.nanCkpt).expect(
                "TF train from a NaN float checkpoint", 2, nanFloat, "conv1/kernel", "NaN"));
        out.add(Lines.tfTrain(f).set("--from", f.nanQuantCkpt).expect("TF train from a NaN calibrated checkpoint", 2,
                nanQuant, "NaN"));
        out.add(Lines.tfExport(f).set("--from", f.nanQuantCkpt).expect("TF export from a NaN calibrated checkpoint", 2,
                nanQuant, "NaN"));
        out.add(Lines.tfExport(f).set("-m", TF_BAD + "graph_with_lgamma").expect(
                "TF export of a graph tf2onnx cannot convert", 2, "ModelError", "tf2onnx", "Lgamma"));
        out.add(Lines.tfReport(f).set("--from", f.nanQuantCkpt).expect("TF report from a NaN calibrated checkpoint", 2,
                nanQuant, "NaN"));
        out.add(Lines.tfTrain(f).set("-t", TF_BAD + "diverging_train").drop("--train-arg")
                .expect("TF train diverging", 5, "refusing to write the checkpoint", "training diverged"));
        out.add(Lines.tfTrain(f).set("-t", TF_BAD + "nan_weights_train").drop("--train-arg")
                .expect("TF train leaving NaN weights", 5, "fc/kernel", "NaN"));
        out.add(Lines.tfTrain(f).set("-t", TF_BAD + "progress_string_train").drop("--train-arg")
                .expect("TF progress('a')", 2, "progress('a'): the step must be a whole number"));
        out.add(Lines.tfTrain(f).set("-t", TF_BAD + "raising_train").drop("--train-arg")
                .expect("TF train raises", 3, "training failed on purpose"));
        out.add(Lines.tfTrain(f).set("-t", TF_BAD + "exiting_train").drop("--train-arg")
                .expect("TF train exits", 3, "training function " + TF_BAD + "exiting_train called sys.exit(4)"));
        out.add(Lines.tfCalibrate(f).set("--eval", TF_BAD + "eval_string").expect("TF eval returns a string", 2,
                "returned String high"));
        out.add(Lines.tfCalibrate(f).set("--eval", TF_BAD + "eval_nan").expect("TF eval returns NaN", 2, "returned NaN"));
        out.add(Lines.tfExport(f).set("--eval", TF_BAD + "eval_nan").expect("TF export eval returns NaN", 2,
                "returned NaN"));
        out.add(Lines.tfCalibrate(f).set("-d", TF_BAD + "raising_data").expect("TF data raises", 3,
                "the data function failed on purpose"));
        out.add(Lines.tfCalibrate(f).set("-d", TF_BAD + "returns_none").expect("TF data returns None", 2,
                "returned NoneType"));
        out.add(Lines.tfCalibrate(f).drop("--checkpoint").expect("TF calibrate without --checkpoint", 2, "--checkpoint"));
        out.add(Lines.tfCalibrate(f).set("--weights", f.floatPth).expect("TF calibrate with --weights", 2, "--weights"));
        out.add(Lines.tfCalibrate(f).set("-c", f.config).set("--framework", "tensorflow")
                .expect("TF with a PyTorch config", 2, "--framework tensorflow"));
        out.add(Lines.tfCalibrate(f).set("-m", TF_BAD + "raising_graph").expect("TF graph builder raises", 3,
                "the graph builder failed on purpose"));
        out.add(Lines.tfCalibrate(f).set("-m", TF_BAD + "graph_without_layers").expect(
                "TF graph without the config's layers", 2, "conv1/Conv2D"));
        out.add(Lines.tfConfig(f).set("-m", TF_BAD + "graph_without_info").expect("TF graph builder returns None", 2,
                "--input-name"));
        out.add(Lines.tfCalibrate(f).set("--input-name", "nothing:0").expect("TF --input-name missing", 2, "nothing"));
        out.add(Lines.tfCalibrate(f).set("--output-name", "nowhere").expect("TF --output-name missing", 2, "nowhere"));
        out.add(Lines.tfCalibrate(f).set("--checkpoint", f.files.resolve("no.ckpt")).expect("TF checkpoint missing", 2,
                "no.ckpt"));
        return out;
    }
}
