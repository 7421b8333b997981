package io.quantbridge.it.badinput;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/** Broken configs given to every command that reads one, and bad {@code config} command inputs. */
final class ConfigCases {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigCases() {
    }

    /** A broken config file, the fragment its error must name. */
    private record Broken(String name, Path file, String fragment) {
    }

    static List<Case> cases(Fixture f) {
        List<Broken> broken = brokenConfigs(f);
        Map<String, Function<Fixture, Lines>> commands = new LinkedHashMap<>();
        commands.put("calibrate", Lines::calibrate);
        commands.put("train", Lines::train);
        commands.put("export", Lines::export);
        commands.put("report", Lines::report);
        commands.put("sensitivity", Lines::sensitivity);
        List<Case> out = new ArrayList<>();
        for (Broken b : broken) {
            commands.forEach((cmd, line) -> out.add(line.apply(f).set("-c", b.file).expect(
                    "config " + b.name + " / " + cmd, 2, b.fragment)));
        }
        // the deployed shape is run by export (the ONNX export uses it)
        for (String[] s : new String[][] {{"x:1,1,16,16", "cannot run inputs of this shape"},
                {"x:1,1,4,4", "cannot run inputs of this shape"}, {"x:1,3,8,8", "cannot run inputs of this shape"},
                {"x:1,64", "cannot run inputs of this shape"},
                {"x:1,1,8,8;y:1,10", "has 2 input(s) (x, y)"}}) {
            Path p = edit(f, "shape_" + s[0].replaceAll("[^0-9a-z]", "_"), c -> c.put("input_shape", s[0]));
            out.add(Lines.export(f).set("-c", p).expect("config input_shape " + s[0] + " / export", 2, s[0], s[1]));
        }
        out.addAll(configCommand(f));
        return out;
    }

    private static List<Case> configCommand(Fixture f) {
        List<Case> out = new ArrayList<>();
        String[][] shapes = {
                {"x:1,1,16,16", "cannot run inputs of this shape"}, {"x:1,1,4,4", "cannot run inputs of this shape"},
                {"x:1,3,8,8", "cannot run inputs of this shape"}, {"x:1,64", "cannot run inputs of this shape"},
                {"x:1,1,8", "cannot run inputs of this shape"}, {"x:1,1,8,8;y:1,10", "has 2 input(s) (x, y)"},
                {"x:1,1,8,8;y:1,1,8,8;z:1", "has 3 input(s)"},
                {"x:1,a,8,8", "x:1,a,8,8"}, {"x", "'x'"}, {"x:", "x:"}, {"x:1,,8,8", "x:1,,8,8"},
                {"x:-1,1,8,8", "x:-1,1,8,8"}, {"1,1,8,8", "1,1,8,8"}, {"x:1;1,8,8", "x:1;1,8,8"}};
        for (String[] s : shapes) {
            out.add(Lines.config(f).set("--input-shape", s[0]).expect("config --input-shape " + s[0], 2, s[1]));
        }
        String bad = Fixture.BAD;
        out.add(Lines.config(f).set("-m", bad + "two_input_model").expect("config two-input model, one input", 2,
                "has 1 input(s) (x)", "takes 2 (x, y)"));
        out.add(Lines.config(f).set("-m", bad + "raising_model").expect("config factory raises", 3,
                "the factory failed on purpose"));
        out.add(Lines.config(f).set("-m", bad + "none_model").expect("config factory returns None", 2,
                bad + "none_model", "None"));
        out.add(Lines.config(f).set("-m", bad + "string_model").expect("config factory returns a str", 2,
                bad + "string_model", "str"));
        out.add(Lines.config(f).set("-m", bad + "exiting_model").expect("config factory exits", 3, "sys.exit(3)"));
        out.add(Lines.config(f).set("-m", bad + "wrapped_model").expect("config DataParallel model", 2,
                "DataParallel"));
        out.add(Lines.config(f).drop("--input-shape").expect("config torch without --input-shape", 2,
                "--input-shape"));
        out.add(Lines.config(f).drop("--framework").expect("config without --framework", 2, "--framework"));
        out.add(Lines.tfConfig(f).set("--input-shape", "x:1,8,8,1").expect("config TensorFlow with --input-shape", 2,
                "--input-shape"));
        out.add(Lines.config(f).set("--calibration", "kl").expect("config --calibration kl", 2, "kl"));
        out.add(Lines.config(f).set("--percentile", "150").expect("config --percentile 150", 2, "150"));
        out.add(Lines.config(f).set("--bins", "0").expect("config --bins 0", 2, "0"));
        return out;
    }

    private static List<Broken> brokenConfigs(Fixture f) {
        List<Broken> out = new ArrayList<>();
        Path missing = f.files.resolve("no_such_config.json");
        out.add(new Broken("missing", missing, "no_such_config.json"));
        out.add(new Broken("empty", write(f, "cfg_empty.json", ""), "cfg_empty.json"));
        out.add(new Broken("not JSON", write(f, "cfg_garbage.json", "{{ not json"), "cfg_garbage.json"));
        out.add(new Broken("JSON array", write(f, "cfg_array.json", "[1, 2]"), "cfg_array.json"));
        out.add(new Broken("binary", write(f, "cfg_binary.json", "\u0000\u0001\u0002\u00ff"), "cfg_binary.json"));
        String good = read(f.config);
        out.add(new Broken("truncated", write(f, "cfg_truncated.json", good.substring(0, good.length() / 2)),
                "cfg_truncated.json"));
        out.add(new Broken("a directory", f.files, f.files.getFileName().toString()));
        out.add(new Broken("no layer_strategy", edit(f, "no_layers", c -> c.remove("layer_strategy")), "layer_strategy"));
        out.add(new Broken("unknown layer", edit(f, "unknown_layer", c -> ((ObjectNode) c.get("layer_strategy"))
                .set("conv9/Conv2D", c.get("layer_strategy").get("conv1/Conv2D").deepCopy())), "conv9/Conv2D"));
        out.add(new Broken("strategy INT4", edit(f, "int4", c -> layer(c, "conv2/Conv2D").put("quant_strategy",
                "Quant_INT4-4")), "Quant_INT4-4"));
        out.add(new Broken("strategy missing", edit(f, "no_strategy", c -> layer(c, "fc1/MatMul").remove("quant_strategy")),
                "fc1/MatMul"));
        out.add(new Broken("strategy a number", edit(f, "number_strategy", c -> layer(c, "fc1/MatMul")
                .put("quant_strategy", 8)), "fc1/MatMul"));
        out.add(new Broken("op_type mismatch", edit(f, "op_type", c -> layer(c, "fc2/MatMul").put("op_type",
                "<class 'torch.nn.modules.conv.Conv2d'>")), "fc2/MatMul"));
        out.add(new Broken("layer entry a string", edit(f, "layer_string", c -> ((ObjectNode) c.get("layer_strategy"))
                .put("conv1/Conv2D", "Quant_INT8-8")), "conv1/Conv2D"));
        out.add(new Broken("input_shape malformed", edit(f, "shape_malformed", c -> c.put("input_shape", "x:1,a,8,8")),
                "x:1,a,8,8"));
        out.add(new Broken("calibration method kl", edit(f, "method_kl", c -> calibration(c).put("method", "kl")), "kl"));
        out.add(new Broken("percentile 150", edit(f, "percentile", c -> calibration(c).put("percentile", 150)), "150"));
        out.add(new Broken("bins 0", edit(f, "bins", c -> calibration(c).put("bins", 0)), "bins"));
        out.add(new Broken("TensorFlow config", f.tfConfig, "TensorFlow"));
        return out;
    }

    private static ObjectNode layer(ObjectNode c, String name) {
        return (ObjectNode) c.get("layer_strategy").get(name);
    }

    private static ObjectNode calibration(ObjectNode c) {
        ObjectNode qb = c.has("quantbridge") ? (ObjectNode) c.get("quantbridge") : c.putObject("quantbridge");
        return qb.has("calibration") ? (ObjectNode) qb.get("calibration") : qb.putObject("calibration");
    }

    /** The fixture's config with {@code change} applied, written to {@code files/cfg_<name>.json}. */
    static Path edit(Fixture f, String name, Consumer<ObjectNode> change) {
        try {
            ObjectNode c = (ObjectNode) JSON.readTree(f.config.toFile());
            change.accept(c);
            return write(f, "cfg_" + name + ".json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Fixture f, String name, String text) {
        try {
            return Files.writeString(f.files.resolve(name), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
