package io.quantbridge.it.badinput;

import static io.quantbridge.it.badinput.Fixture.TF_BAD;

import java.util.ArrayList;
import java.util.List;

/** TensorFlow data functions yielding None, empty, NaN, float16 or wrong-rank batches. */
final class TfDataCases {
    private TfDataCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        String[][] data = {{"yields_none", "is None"}, {"empty_list", "no batches"}, {"nan_batches", "NaN"},
                {"half_batches", "float16"}, {"wrong_rank", "shape"}, {"zero_batch_size", "empty"}};
        for (String[] d : data) {
            out.add(Lines.tfCalibrate(f).set("-d", TF_BAD + d[0]).expect("TF data " + d[0] + " / calibrate", 2,
                    TF_BAD + d[0], d[1]));
            out.add(Lines.tfReport(f).set("-d", TF_BAD + d[0]).expect("TF data " + d[0] + " / report", 2,
                    TF_BAD + d[0], d[1]));
        }
        return out;
    }
}
