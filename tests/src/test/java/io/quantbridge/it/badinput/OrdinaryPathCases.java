package io.quantbridge.it.badinput;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Ordinary absolute paths a user has ({@code /srv/my-app/out}, {@code /tmp/out dir}, dotted and
 * non-ASCII directory names): every command must accept them for inputs and outputs (exit 0, only
 * new files), and the vendor's character rule applies only when asked for.
 */
final class OrdinaryPathCases {
    private OrdinaryPathCases() {
    }

    static List<Case> cases(Fixture f) {
        List<Case> out = new ArrayList<>();
        for (String d : List.of("my-app", "out dir", "v1.2", "données", "模型")) {
            Path dir = ForceCases.dir(f.root.resolve("paths").resolve(d));
            String tag = d.replaceAll("[^A-Za-z0-9]", "_");
            Path weights = ForceCases.copy(f.floatPth, dir.resolve("float.pth"));
            Path state = ForceCases.copy(f.quantPth, dir.resolve("quant.pth"));
            out.add(Lines.calibrate(f).set("--weights", weights).set("-o", dir.resolve("calibrated.pth"))
                    .expect("calibrate in '" + d + "'", 0));
            out.add(Lines.export(f).set("--from", state).set("-o", dir).set("--name", "m_" + tag)
                    .expect("export into '" + d + "'", 0));
            out.add(Lines.train(f).set("--from", state).set("-o", dir.resolve("trained.pth"))
                    .expect("train in '" + d + "'", 0));
            out.add(Lines.config(f).set("-o", dir.resolve("config.json")).expect("config into '" + d + "'", 0));
            out.add(Lines.tfExport(f).set("-o", dir).set("--name", "tf_" + tag).expect("TF export into '" + d + "'", 0));
        }
        return out;
    }
}
