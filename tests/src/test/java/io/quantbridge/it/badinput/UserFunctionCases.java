package io.quantbridge.it.badinput;

import static io.quantbridge.it.badinput.Fixture.BAD;

import java.util.ArrayList;
import java.util.List;

/**
 * The user's functions misbehaving ({@code bad_project/badproj/torch_fns.py}): model factories,
 * data functions (raising, exiting, wrong types, None, empty, NaN/Inf, wrong shapes and dtypes),
 * training functions (diverging, replacing a quantized layer, bad progress calls) and evaluation
 * functions (not a number, NaN).
 */
final class UserFunctionCases {
    private UserFunctionCases() {
    }

    /** A data function, the exit code and what the line must name besides the function. */
    private record Data(String fn, int exit, String fragment) {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        List<Data> data = List.of(
                new Data("raising_data", 3, "the data function failed on purpose"),
                new Data("raising_midway", 3, "the data generator failed after one batch"),
                new Data("exiting_data", 3, "sys.exit(2)"),
                new Data("returns_none", 2, "returned NoneType"),
                new Data("returns_int", 2, "returned int"),
                new Data("returns_string", 2, "returned a str"),
                new Data("returns_dict", 2, "returned a dict"),
                new Data("empty_list", 2, "yielded no batches"),
                new Data("yields_none", 2, "batch 1 from data function " + BAD + "yields_none is None"),
                new Data("none_after_good", 2, "batch 2 from data function " + BAD + "none_after_good is None"),
                new Data("empty_tuples", 2, "batch 1 from data function " + BAD + "empty_tuples is an empty tuple"),
                new Data("none_pairs", 2, "batch 1 from data function " + BAD + "none_pairs is None"),
                new Data("nan_batches", 2, "batch 2 from data function " + BAD + "nan_batches"),
                new Data("inf_batches", 2, "Inf"),
                new Data("neg_inf_numpy", 2, "1 Inf"),
                new Data("nan_numpy", 2, "256 NaN"),
                new Data("zero_batch_size", 2, "is empty"),
                new Data("empty_tensor", 2, "is empty (shape (0, 1, 8, 8)"),
                new Data("wrong_rank_2d", 2, "input_shape is 'x:1,1,8,8'"),
                new Data("wrong_rank_3d", 2, "input_shape is 'x:1,1,8,8'"),
                new Data("wrong_rank_5d", 2, "input_shape is 'x:1,1,8,8'"),
                new Data("wrong_size", 2, "shape (4, 1, 16, 16)"),
                new Data("wrong_channels", 2, "shape (4, 3, 8, 8)"),
                new Data("half_batches", 2, "is float16"),
                new Data("bfloat16_batches", 2, "is bfloat16"),
                new Data("double_batches", 2, "is float64"),
                new Data("int_batches", 2, "int64"),
                new Data("bool_batches", 2, "bool"),
                new Data("string_batches", 2, "is a builtins.str"),
                new Data("dict_batches", 2, "is a builtins.dict"),
                new Data("list_batches", 2, "is a builtins.list"),
                new Data("object_arrays", 2, "not numeric"),
                new Data("string_arrays", 2, "not numeric"),
                new Data("bad_progress_data", 2, "progress('a')"));
        for (Data d : data) {
            String fn = BAD + d.fn;
            out.add(Lines.calibrate(f).set("-d", fn).expect("data " + d.fn + " / calibrate", d.exit, d.fragment));
            out.add(Lines.report(f).set("-d", fn).drop("-n").expect("data " + d.fn + " / report", d.exit, d.fragment));
        }
        out.add(Lines.calibrate(f).set("-d", BAD + "overflowing_batches").expect("data overflowing to Inf / calibrate",
                5, "calibration over data function " + BAD + "overflowing_batches", "overflowed"));
        out.add(Lines.calibrate(f).set("-d", BAD + "good_batches").set("--data-arg", "batch_size=0")
                .expect("data --data-arg batch_size=0", 2, "is empty"));

        String[][] train = {
                {"diverging_train", "5", "training function " + BAD + "diverging_train"},
                {"nan_weights_train", "5", "tensor 'fc1.weight' (layer 'fc1/MatMul') has 8192 NaN"},
                {"nan_scale_train", "5", "conv1.activation_quant.scale"},
                {"swapping_train", "2", "layer 'conv2/Conv2D' is a plain torch.nn.modules.conv.Conv2d, not quantized"},
                {"deleting_train", "2", "layer 'fc2/MatMul' is gone"},
                {"raising_train", "3", "training failed on purpose"},
                {"exiting_train", "3", "training function " + BAD + "exiting_train called sys.exit(1)"},
                {"progress_string_train", "2", "progress('a'): the step must be a whole number"},
                {"progress_total_train", "2", "the total must be a whole number"},
                {"progress_nan_train", "2", "progress(nan, 10)"},
                {"progress_negative_train", "2", "progress(-1, 10)"},
                {"progress_tensor_train", "2", "the step must be a whole number"}};
        for (String[] t : train) {
            out.add(Lines.train(f).set("-t", BAD + t[0]).expect("train " + t[0], Integer.parseInt(t[1]), t[2]));
        }
        out.add(Lines.train(f).drop("--from").set("--weights", f.floatPth).set("-t", BAD + "diverging_train")
                .expect("train from float weights, diverging", 5, "training diverged"));

        String[][] eval = {{"eval_string", "2", "returned String high"}, {"eval_none", "2", "returned None"},
                {"eval_nan", "2", "returned NaN"}, {"eval_inf", "2", "returned Infinity"},
                {"eval_no_accuracy", "2", "'accuracy'"}, {"eval_raises", "3", "evaluation failed on purpose"},
                {"eval_exits", "3", "evaluation function " + BAD + "eval_exits called sys.exit(0)"}};
        for (String[] e : eval) {
            out.add(Lines.calibrate(f).set("--eval", BAD + e[0]).expect("eval " + e[0] + " / calibrate",
                    Integer.parseInt(e[1]), e[2]));
            out.add(Lines.export(f).set("--eval", BAD + e[0]).expect("eval " + e[0] + " / export",
                    Integer.parseInt(e[1]), e[2]));
        }

        String[][] factories = {{"nan_model", "2", "conv2.weight"}, {"raising_model", "3", "the factory failed on purpose"},
                {"none_model", "2", "none_model"}, {"string_model", "2", "string_model"},
                {"exiting_model", "3", "sys.exit(3)"}, {"wrapped_model", "2", "DataParallel"},
                {"two_input_model", "2", "layer"}};
        for (String[] m : factories) {
            out.add(Lines.calibrateNoWeights(f).set("-m", BAD + m[0]).expect("model " + m[0] + " / calibrate",
                    Integer.parseInt(m[1]), m[2]));
        }
        return out;
    }
}
