#!/usr/bin/python3
"""Rewrites the demo model's attention to the com.microsoft GroupQueryAttention op, keeping every weight and every
other operator (RMSNorm, rotary from position_ids, SwiGLU) as trained and exported by train.py.

Why: with plain MatMul/Softmax attention the graph concatenates past and new KV into a fresh present tensor at
every decode step, so a step copies the whole KV cache of every row. GroupQueryAttention can instead write the
new position into the past buffer itself when past and present are bound to the same buffer
(past_present_share_buffer), and it reads each row only up to its own length (seqlens_k), so rows are right-padded.

Per layer the rewrite replaces Concat(past, new) -> Transpose -> MatMul -> Div -> Add(mask) -> Softmax -> MatMul
-> Transpose -> Reshape by one GroupQueryAttention node (do_rotary=0: Q and K arrive rotated by the original
nodes, so they are bit-identical to before). seqlens_k and total_sequence_length come from attention_mask as the
ORT GenAI builder computes them. The causal/padding mask subgraph becomes unused and is removed.

    /usr/bin/python3 tools/demo-model/to_gqa.py models/daprllm-kjv-small/model.onnx /tmp/model-gqa.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper, numpy_helper
import numpy as np


def rewrite(src, dst):
    model = onnx.load(src)
    graph = model.graph
    layers = sum(1 for o in graph.output if o.name.startswith("present.") and o.name.endswith(".key"))
    heads = kv_heads = head = None
    for init in graph.initializer:
        pass
    past0 = next(i for i in graph.input if i.name == "past_key_values.0.key")
    dims = past0.type.tensor_type.shape.dim
    kv_heads, head = dims[1].dim_value, dims[3].dim_value
    heads = kv_heads  # the demo model has as many KV heads as attention heads

    new_inits = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "gqa_axis1"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "gqa_one"),
        numpy_helper.from_array(np.array([0, 0, heads * head], dtype=np.int64), "gqa_bsd_shape"),
    ]
    graph.initializer.extend(new_inits)
    prologue = [
        helper.make_node("ReduceSum", ["attention_mask", "gqa_axis1"], ["gqa_mask_sum"], keepdims=0, name="/gqa/ReduceSum"),
        helper.make_node("Sub", ["gqa_mask_sum", "gqa_one"], ["gqa_seqlens_k_64"], name="/gqa/Sub"),
        helper.make_node("Cast", ["gqa_seqlens_k_64"], ["gqa_seqlens_k"], to=TensorProto.INT32, name="/gqa/Cast"),
        helper.make_node("Shape", ["attention_mask"], ["gqa_mask_shape"], name="/gqa/Shape"),
        helper.make_node("Gather", ["gqa_mask_shape", "gqa_one"], ["gqa_total_64"], axis=0, name="/gqa/Gather"),
        helper.make_node("Cast", ["gqa_total_64"], ["gqa_total"], to=TensorProto.INT32, name="/gqa/Cast_1"),
    ]

    by_name = {n.name: n for n in graph.node}
    removed = set()
    added = []
    for l in range(layers):
        p = f"/model/blocks.{l}/"
        q_rot = by_name[p + "Add"].output[0]          # rotated Q, [B, H, S, hd]
        k_rot = by_name[p + "Add_1"].output[0]        # rotated K, [B, KvH, S, hd]
        v_bsd = by_name[p + "v/MatMul"].output[0]     # V before its reshape, [B, S, KvH*hd]
        o_matmul = by_name[p + "o/MatMul"]
        scale = numpy_helper.to_array(next(a.t for a in by_name[p + "Constant_29"].attribute if a.name == "value")) \
            if p + "Constant_29" in by_name else None
        for n in ("Concat_5", "Concat_6", "Transpose_3", "MatMul", "Div_2", "Add_2", "Softmax", "MatMul_1", "Transpose_4", "Reshape_3"):
            removed.add(p + n)
        attn = f"gqa_attn_{l}"
        added += [
            helper.make_node("Transpose", [q_rot], [f"gqa_q_bsnh_{l}"], perm=[0, 2, 1, 3], name=p + "gqa/TransposeQ"),
            helper.make_node("Reshape", [f"gqa_q_bsnh_{l}", "gqa_bsd_shape"], [f"gqa_q_{l}"], name=p + "gqa/ReshapeQ"),
            helper.make_node("Transpose", [k_rot], [f"gqa_k_bsnh_{l}"], perm=[0, 2, 1, 3], name=p + "gqa/TransposeK"),
            helper.make_node("Reshape", [f"gqa_k_bsnh_{l}", "gqa_bsd_shape"], [f"gqa_k_{l}"], name=p + "gqa/ReshapeK"),
            helper.make_node(
                "GroupQueryAttention",
                [f"gqa_q_{l}", f"gqa_k_{l}", v_bsd, f"past_key_values.{l}.key", f"past_key_values.{l}.value", "gqa_seqlens_k", "gqa_total"],
                [attn, f"present.{l}.key", f"present.{l}.value"],
                domain="com.microsoft", num_heads=heads, kv_num_heads=kv_heads, scale=float(1.0 / float(scale)) if scale is not None else float(head ** -0.5),
                name=p + "gqa/GroupQueryAttention"),
        ]
        o_matmul.input[0] = attn

    nodes = [n for n in graph.node if n.name not in removed]
    # Insert the new nodes before the first node that consumes one of their outputs (keeps a topological order).
    produced = {}
    for n in prologue + added:
        for o in n.output:
            produced[o] = n
    ordered = []
    placed = set()

    def place(n):
        if id(n) in placed:
            return
        for i in n.input:
            if i in produced:
                place(produced[i])
        placed.add(id(n))
        ordered.append(n)

    for n in nodes:
        for i in n.input:
            if i in produced:
                place(produced[i])
        ordered.append(n)
    for n in prologue + added:
        place(n)
    # Outputs first produced by new nodes (presents) need them placed: done by the loop above.
    # Drop nodes whose outputs nobody uses (the old mask subgraph, shape plumbing of removed reshapes).
    outputs = {o.name for o in graph.output}
    while True:
        used = {i for n in ordered for i in n.input} | outputs
        keep = [n for n in ordered if any(o in used for o in n.output)]
        if len(keep) == len(ordered):
            break
        ordered = keep
    del graph.node[:]
    graph.node.extend(ordered)
    used = {i for n in ordered for i in n.input}
    inits = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]
    for o in graph.output:
        if o.name.startswith("present."):
            d = o.type.tensor_type.shape.dim
            d[2].ClearField("dim_value")
            d[2].dim_param = "present_sequence_length"
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, dst)
    print(f"{src} -> {dst}: {layers} layers, {len(ordered)} nodes, heads {heads}, head size {head}")


if __name__ == "__main__":
    rewrite(sys.argv[1], sys.argv[2])
