package io.quantbridge.params;

import java.util.List;
import java.util.Objects;

/**
 * One layer of the parameter file.
 *
 * @param name the layer name as in the config
 * @param opType the layer's op type as in the config
 * @param quantStrategy {@code "float"} or a strategy such as {@code "Quant_INT8-8"}
 * @param node the node (ONNX) or op (TF) name in the exported model, or null if unknown; for a
 *     layer with several nodes, the first of {@code nodes}
 * @param nodes every ONNX node of the layer (one per call of a PyTorch module called more than
 *     once), the first being {@code node}; empty when the file lists only {@code node}
 * @param weight weight parameters, null for float layers
 * @param activation activation parameters (applied to the data input of every node), null for float layers
 * @param int32Bias the fake-quant model computes the layer with its bias rounded to int32 with scale
 *     {@code s_x * s_w[c]} (an integer kernel: requantized output, or ONNX Runtime's {@code QGemm}
 *     writing float for the last Linear), so the QDQ file gives it that bias; the shim, which
 *     computes that arithmetic, decides it
 */
public record LayerParams(String name, String opType, String quantStrategy, String node, List<String> nodes,
                          WeightParams weight, ActivationParams activation, boolean int32Bias) {
    /**
     * Checks presence of name, op type and strategy, and that {@code node} is the first of {@code nodes}.
     *
     * @throws IllegalArgumentException if {@code nodes} is not empty and does not start with {@code node},
     *     or names a node twice
     */
    public LayerParams {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(quantStrategy, "quantStrategy");
        nodes = nodes == null ? List.of() : List.copyOf(nodes);
        if (!nodes.isEmpty() && !nodes.get(0).equals(node)) {
            throw new IllegalArgumentException("layer " + name + ": node is " + node + " but nodes starts with "
                    + nodes.get(0) + "; expected node to be the first of nodes");
        }
        if (nodes.stream().distinct().count() != nodes.size()) {
            throw new IllegalArgumentException("layer " + name + ": nodes " + nodes + " name a node twice");
        }
    }

    /** A layer without the int32-bias mark. */
    public LayerParams(String name, String opType, String quantStrategy, String node, List<String> nodes,
                       WeightParams weight, ActivationParams activation) {
        this(name, opType, quantStrategy, node, nodes, weight, activation, false);
    }

    /** A layer with one node (or none known): {@code nodes} empty. */
    public LayerParams(String name, String opType, String quantStrategy, String node, WeightParams weight,
                       ActivationParams activation) {
        this(name, opType, quantStrategy, node, List.of(), weight, activation, false);
    }

    /** The layer's node names: {@code nodes}, or {@code node} alone, or none when neither is known. */
    public List<String> nodeNames() {
        if (!nodes.isEmpty()) {
            return nodes;
        }
        return node == null ? List.of() : List.of(node);
    }

    /** True unless the strategy is {@code "float"}. */
    public boolean isQuantized() {
        return !"float".equals(quantStrategy);
    }
}
