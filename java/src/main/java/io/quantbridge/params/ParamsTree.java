package io.quantbridge.params;

import io.quantbridge.json.PythonRepr;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quantbridge.QuantBridgeException;
import io.quantbridge.config.Framework;

import java.util.ArrayList;
import java.util.List;

/** Parameter records to and from JSON trees, in the shim's key order, with messages naming the key path. */
final class ParamsTree {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private ParamsTree() {
    }

    // ---- reading ---------------------------------------------------------------------------

    static QuantParams params(JsonNode root, String source) throws QuantBridgeException {
        if (root == null || !root.isObject()) {
            throw new QuantBridgeException(source + " is not a QuantBridge parameter file: expected a JSON object, got "
                    + PythonRepr.typeName(root));
        }
        JsonNode format = root.get("format");
        if (format == null || !format.isTextual() || !QuantParams.FORMAT.equals(format.textValue())) {
            throw new QuantBridgeException(source + " is not a QuantBridge parameter file (format "
                    + PythonRepr.of(format) + "); expected format " + PythonRepr.of(QuantParams.FORMAT));
        }
        JsonNode version = root.get("version");
        if (version == null || !version.isIntegralNumber()
                || !QuantParams.READABLE_VERSIONS.contains((int) Math.max(Integer.MIN_VALUE,
                        Math.min(Integer.MAX_VALUE, version.longValue())))) {
            throw new QuantBridgeException(source + ": parameter file version " + PythonRepr.of(version)
                    + " is not supported; expected one of " + QuantParams.READABLE_VERSIONS);
        }
        String fw = text(root, "framework", "", source, false);
        Framework framework;
        try {
            framework = Framework.fromId(fw);
        } catch (IllegalArgumentException e) {
            throw new QuantBridgeException(source + ": framework is " + PythonRepr.of(fw)
                    + "; expected 'torch' or 'tensorflow'", e);
        }
        JsonNode m = object(root, "model", "", source);
        ModelInfo model = new ModelInfo(text(m, "file", "model", source, false), text(m, "sha256", "model", source, false),
                text(m, "input_shape", "model", source, true), strings(m, "outputs", "model", source));
        JsonNode layers = root.get("layers");
        JsonNode points = root.get("points");
        List<PointParams> pts = points == null || points.isNull() ? List.of() : points(points, "points", source);
        return new QuantParams(framework, model, layers(layers, "layers", source), pts);
    }

    static List<PointParams> points(JsonNode points, String path, String source) throws QuantBridgeException {
        if (points == null || !points.isArray()) {
            throw fail(source, path, "a list of point objects", points);
        }
        List<PointParams> out = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < points.size(); i++) {
            String at = path + "[" + i + "]";
            JsonNode p = points.get(i);
            if (!p.isObject()) {
                throw fail(source, at, "a point object", p);
            }
            String name = text(p, "name", at, source, false);
            if (!names.add(name)) {
                throw new QuantBridgeException(source + ": " + at + ".name " + PythonRepr.of(name)
                        + " repeats; expected each point once");
            }
            at = path + "[" + i + "] (" + PythonRepr.of(name) + ")";
            String tensor = text(p, "tensor", at, source, false);
            out.add(new PointParams(name, tensor, text(p, "owner", at, source, true),
                    text(p, "mirror_of", at, source, true), activation(p, at, source)));
        }
        return out;
    }

    static List<LayerParams> layers(JsonNode layers, String path, String source) throws QuantBridgeException {
        if (layers == null || !layers.isArray()) {
            throw fail(source, path, "a list of layer objects", layers);
        }
        List<LayerParams> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            String at = path + "[" + i + "]";
            JsonNode l = layers.get(i);
            if (!l.isObject()) {
                throw fail(source, at, "a layer object", l);
            }
            String name = text(l, "name", at, source, false);
            at = path + "[" + i + "] (" + PythonRepr.of(name) + ")";
            String node = text(l, "node", at, source, true);
            List<String> nodes = strings(l, "nodes", at, source);
            if (!nodes.isEmpty() && !nodes.get(0).equals(node)) {
                throw new QuantBridgeException(source + ": " + at + ".nodes starts with " + PythonRepr.of(nodes.get(0))
                        + " but node is " + PythonRepr.of(node) + "; expected node to be the first of nodes");
            }
            if (nodes.stream().distinct().count() != nodes.size()) {
                throw new QuantBridgeException(source + ": " + at + ".nodes " + PythonRepr.of(nodes)
                        + " names a node twice; expected each node once");
            }
            out.add(new LayerParams(name, text(l, "op_type", at, source, false),
                    text(l, "quant_strategy", at, source, false), node, nodes,
                    weight(l.get("weight"), at + ".weight", source),
                    activation(l.get("activation"), at + ".activation", source),
                    optBool(l, "int32_bias", false, at, source)));
        }
        return out;
    }

    private static WeightParams weight(JsonNode w, String at, String source) throws QuantBridgeException {
        if (w == null || w.isNull()) {
            return null;
        }
        if (!w.isObject()) {
            throw fail(source, at, "an object", w);
        }
        List<Integer> channelAxes = new ArrayList<>();
        JsonNode ca = w.get("channel_axes");
        if (ca != null && !ca.isNull()) {
            if (!ca.isArray() || ca.size() < 2) {
                throw fail(source, at + ".channel_axes", "a list of at least two axes", ca);
            }
            for (int i = 0; i < ca.size(); i++) {
                channelAxes.add(integer(ca.get(i), at + ".channel_axes[" + i + "]", source));
            }
        }
        int axis = channelAxes.isEmpty() ? integer(w.get("axis"), at + ".axis", source) : channelAxes.get(0);
        WeightParams main = new WeightParams(text(w, "tensor", at, source, false),
                optText(w, "dtype", "int8", at, source), optInt(w, "bits", 8, at, source),
                optBool(w, "symmetric", true, at, source), axis,
                scales(w, at, source), zeroPoints(w, at, source), List.of(), channelAxes);
        JsonNode c = w.get("copies");
        if (c == null || c.isNull()) {
            return main;
        }
        if (!c.isArray()) {
            throw fail(source, at + ".copies", "a list of weight copies", c);
        }
        List<WeightParams> copies = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>(List.of(main.tensor()));
        for (int i = 0; i < c.size(); i++) {
            String ci = at + ".copies[" + i + "]";
            JsonNode e = c.get(i);
            if (!e.isObject()) {
                throw fail(source, ci, "an object", e);
            }
            String tensor = text(e, "tensor", ci, source, false);
            if (!seen.add(tensor)) {
                throw new QuantBridgeException(source + ": " + ci + ".tensor " + PythonRepr.of(tensor)
                        + " repeats a tensor of this weight; expected distinct initializers");
            }
            copies.add(main.copyFor(tensor, integer(e.get("axis"), ci + ".axis", source), scales(e, ci, source),
                    zeroPoints(e, ci, source)));
        }
        return new WeightParams(main.tensor(), main.dtype(), main.bits(), main.symmetric(), main.axis(),
                main.scale(), main.zeroPoint(), copies, main.channelAxes());
    }

    private static List<Double> scales(JsonNode w, String at, String source) throws QuantBridgeException {
        List<Double> scale = new ArrayList<>();
        JsonNode s = w.get("scale");
        if (s == null || !s.isArray() || s.isEmpty()) {
            throw fail(source, at + ".scale", "a non-empty list of numbers", s);
        }
        for (int i = 0; i < s.size(); i++) {
            if (!s.get(i).isNumber()) {
                throw fail(source, at + ".scale[" + i + "]", "a number", s.get(i));
            }
            scale.add(s.get(i).doubleValue());
        }
        return scale;
    }

    private static List<Integer> zeroPoints(JsonNode w, String at, String source) throws QuantBridgeException {
        int n = w.get("scale").size();
        List<Integer> zp = new ArrayList<>();
        JsonNode z = w.get("zero_point");
        if (z == null || z.isNull()) {
            for (int i = 0; i < n; i++) {
                zp.add(0);
            }
        } else {
            if (!z.isArray() || z.size() != n) {
                throw fail(source, at + ".zero_point", "a list of " + n + " integers (one per scale)", z);
            }
            for (int i = 0; i < z.size(); i++) {
                zp.add(integer(z.get(i), at + ".zero_point[" + i + "]", source));
            }
        }
        return zp;
    }

    private static ActivationParams activation(JsonNode a, String at, String source) throws QuantBridgeException {
        if (a == null || a.isNull()) {
            return null;
        }
        if (!a.isObject()) {
            throw fail(source, at, "an object", a);
        }
        return new ActivationParams(text(a, "tensor", at, source, false), optText(a, "dtype", "uint8", at, source),
                optInt(a, "bits", 8, at, source), optBool(a, "symmetric", false, at, source),
                number(a.get("scale"), at + ".scale", source), integer(a.get("zero_point"), at + ".zero_point", source),
                number(a.get("min"), at + ".min", source), number(a.get("max"), at + ".max", source));
    }

    private static JsonNode object(JsonNode parent, String key, String at, String source) throws QuantBridgeException {
        JsonNode v = parent.get(key);
        if (v == null || !v.isObject()) {
            throw fail(source, join(at, key), "an object", v);
        }
        return v;
    }

    private static String text(JsonNode parent, String key, String at, String source, boolean nullable)
            throws QuantBridgeException {
        JsonNode v = parent.get(key);
        if (nullable && (v == null || v.isNull())) {
            return null;
        }
        if (v == null || !v.isTextual()) {
            throw fail(source, join(at, key), nullable ? "a string or null" : "a string", v);
        }
        return v.textValue();
    }

    private static String optText(JsonNode parent, String key, String dflt, String at, String source)
            throws QuantBridgeException {
        JsonNode v = parent.get(key);
        return v == null || v.isNull() ? dflt : text(parent, key, at, source, false);
    }

    private static int optInt(JsonNode parent, String key, int dflt, String at, String source)
            throws QuantBridgeException {
        JsonNode v = parent.get(key);
        return v == null || v.isNull() ? dflt : integer(v, join(at, key), source);
    }

    private static boolean optBool(JsonNode parent, String key, boolean dflt, String at, String source)
            throws QuantBridgeException {
        JsonNode v = parent.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw fail(source, join(at, key), "true or false", v);
        }
        return v.booleanValue();
    }

    private static List<String> strings(JsonNode parent, String key, String at, String source)
            throws QuantBridgeException {
        JsonNode v = parent.get(key);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (!v.isArray()) {
            throw fail(source, join(at, key), "a list of strings", v);
        }
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw fail(source, join(at, key) + "[" + i + "]", "a string", v.get(i));
            }
            out.add(v.get(i).textValue());
        }
        return out;
    }

    private static int integer(JsonNode v, String at, String source) throws QuantBridgeException {
        // Python writes ints; numpy ints may arrive as whole floats through the bridge.
        if (v != null && v.isNumber() && (v.isIntegralNumber() || v.doubleValue() == Math.rint(v.doubleValue()))
                && v.canConvertToInt() && Math.abs(v.doubleValue()) <= Integer.MAX_VALUE) {
            return v.intValue();
        }
        throw fail(source, at, "an integer", v);
    }

    private static double number(JsonNode v, String at, String source) throws QuantBridgeException {
        if (v == null || !v.isNumber()) {
            throw fail(source, at, "a number", v);
        }
        return v.doubleValue();
    }

    private static String join(String at, String key) {
        return at.isEmpty() ? key : at + "." + key;
    }

    private static QuantBridgeException fail(String source, String at, String expected, JsonNode got) {
        return new QuantBridgeException(source + ": " + at + " is " + (got == null ? "missing" : PythonRepr.of(got)
                + " (" + PythonRepr.typeName(got) + ")") + "; expected " + expected);
    }

    // ---- writing ---------------------------------------------------------------------------

    static ObjectNode toTree(QuantParams p) {
        if (p.model() == null) {
            throw new IllegalArgumentException("the parameters have no model info; expected withModel(file, sha256, "
                    + "inputShape, outputs) before writing the parameter file");
        }
        ObjectNode root = F.objectNode();
        root.put("format", QuantParams.FORMAT);
        root.put("version", QuantParams.VERSION);
        root.put("framework", p.framework().id());
        ObjectNode m = root.putObject("model");
        m.put("file", p.model().file());
        m.put("sha256", p.model().sha256());
        m.put("input_shape", p.model().inputShape());
        ArrayNode outs = m.putArray("outputs");
        p.model().outputs().forEach(outs::add);
        ArrayNode layers = root.putArray("layers");
        for (LayerParams l : p.layers()) {
            ObjectNode o = layers.addObject();
            o.put("name", l.name());
            o.put("op_type", l.opType());
            o.put("quant_strategy", l.quantStrategy());
            o.put("node", l.node());
            if (!l.nodes().isEmpty()) {
                ArrayNode ns = o.putArray("nodes");
                l.nodes().forEach(ns::add);
            }
            if (l.weight() != null) {
                WeightParams w = l.weight();
                ObjectNode wo = o.putObject("weight");
                wo.put("tensor", w.tensor());
                wo.put("dtype", w.dtype());
                wo.put("bits", w.bits());
                wo.put("symmetric", w.symmetric());
                if (w.multiAxis()) {
                    ArrayNode axes = wo.putArray("channel_axes");
                    w.channelAxes().forEach(axes::add);
                } else {
                    wo.put("axis", w.axis());
                }
                ArrayNode s = wo.putArray("scale");
                w.scale().forEach(s::add);
                ArrayNode z = wo.putArray("zero_point");
                w.zeroPoint().forEach(z::add);
                if (!w.copies().isEmpty()) {
                    ArrayNode cs = wo.putArray("copies");
                    for (WeightParams c : w.copies()) {
                        ObjectNode co = cs.addObject();
                        co.put("tensor", c.tensor());
                        co.put("axis", c.axis());
                        ArrayNode cscale = co.putArray("scale");
                        c.scale().forEach(cscale::add);
                        ArrayNode czp = co.putArray("zero_point");
                        c.zeroPoint().forEach(czp::add);
                    }
                }
            }
            if (l.activation() != null) {
                ActivationParams a = l.activation();
                ObjectNode ao = o.putObject("activation");
                ao.put("tensor", a.tensor());
                ao.put("dtype", a.dtype());
                ao.put("bits", a.bits());
                ao.put("symmetric", a.symmetric());
                ao.put("scale", a.scale());
                ao.put("zero_point", a.zeroPoint());
                ao.put("min", a.min());
                ao.put("max", a.max());
            }
            if (l.int32Bias()) {
                o.put("int32_bias", true);
            }
        }
        ArrayNode pts = root.putArray("points");
        {
            for (PointParams pt : p.points()) {
                ObjectNode o = pts.addObject();
                o.put("name", pt.name());
                o.put("tensor", pt.tensor());
                o.put("owner", pt.owner());
                o.put("mirror_of", pt.mirrorOf());
                ActivationParams a = pt.quant();
                o.put("dtype", a.dtype());
                o.put("bits", a.bits());
                o.put("symmetric", a.symmetric());
                o.put("scale", a.scale());
                o.put("zero_point", a.zeroPoint());
                o.put("min", a.min());
                o.put("max", a.max());
            }
        }
        return root;
    }
}
