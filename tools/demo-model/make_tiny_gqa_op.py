#!/usr/bin/python3
"""Builds a tiny model folder in the layout onnxruntime-genai's model builder writes for Phi-3.5, Qwen2.5 and
Llama on CPU: attention through the com.microsoft GroupQueryAttention contrib op with rotary embeddings inside
the op (do_rotary=1, cos/sin caches), no position_ids input, and seqlens_k / total_sequence_length computed from
attention_mask in an "attn_mask_reformat" subgraph as the builder does. Past/present KV are
[batch, kv_heads, seq, head] (4 attention heads, 2 KV heads); genai_config.json says
past_present_share_buffer: true like the builder's. GroupQueryAttention reads a row's KV from position 0 up to
seqlens_k, so rows are right-padded, not left-padded. Random weights, float32, tied embeddings, under 1 MB; not a language model.

    /usr/bin/python3 tools/demo-model/make_tiny_gqa_op.py --out tests/DaprLlm.Inference.Tests/TestModels/tiny-gqa-op
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# ONNX Runtime's CPU GroupQueryAttention needs a head size that is a multiple of 16.
LAYERS, HEADS, KV_HEADS, HEAD, VOCAB, CONTEXT = 2, 4, 2, 16, 2048, 128
HIDDEN = HEADS * HEAD
DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "models", "daprllm-kjv-small")


def build(out):
    rng = np.random.default_rng(20261130)
    inits, nodes = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(array, name))

    def weight(name, rows, cols, scale):
        init(name, (rng.standard_normal((rows, cols)) * scale).astype(np.float32))

    weight("embed", VOCAB, HIDDEN, 1.0)
    init("ln_scale", np.ones(HIDDEN, dtype=np.float32))
    init("ln_bias", np.zeros(HIDDEN, dtype=np.float32))
    init("one", np.array(1, dtype=np.int64))
    init("axis1", np.array([1], dtype=np.int64))
    init("index1", np.array(1, dtype=np.int64))
    # Rotary caches as the builder writes them: [max position, head / 2].
    inv = 1.0 / (10000 ** (np.arange(0, HEAD, 2, dtype=np.float32) / HEAD))
    angles = np.outer(np.arange(CONTEXT, dtype=np.float32), inv)
    init("cos_cache", np.cos(angles).astype(np.float32))
    init("sin_cache", np.sin(angles).astype(np.float32))

    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", VOCAB])]

    # The builder's attn_mask_reformat: seqlens_k = sum(mask) - 1, total_sequence_length = mask width, as int32.
    nodes += [
        helper.make_node("ReduceSum", ["attention_mask", "axis1"], ["mask_sum"], keepdims=0),
        helper.make_node("Sub", ["mask_sum", "one"], ["seqlens_k_64"]),
        helper.make_node("Cast", ["seqlens_k_64"], ["seqlens_k"], to=TensorProto.INT32),
        helper.make_node("Shape", ["attention_mask"], ["mask_shape"]),
        helper.make_node("Gather", ["mask_shape", "index1"], ["total_64"], axis=0),
        helper.make_node("Cast", ["total_64"], ["total_sequence_length"], to=TensorProto.INT32),
        helper.make_node("Gather", ["embed", "input_ids"], ["h0"]),
    ]
    hidden = "h0"
    for layer in range(LAYERS):
        p = f"l{layer}_"
        for w, cols in (("q", HIDDEN), ("k", KV_HEADS * HEAD), ("v", KV_HEADS * HEAD), ("o", HIDDEN)):
            weight(p + w, HIDDEN, cols, 0.4)
        past_k, past_v = f"past_key_values.{layer}.key", f"past_key_values.{layer}.value"
        present_k, present_v = f"present.{layer}.key", f"present.{layer}.value"
        for name in (past_k, past_v):
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch_size", KV_HEADS, "past_sequence_length", HEAD]))
        for name in (present_k, present_v):
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch_size", KV_HEADS, "total_sequence_length", HEAD]))
        nodes += [
            helper.make_node("LayerNormalization", [hidden, "ln_scale", "ln_bias"], [p + "norm"], axis=-1),
            helper.make_node("MatMul", [p + "norm", p + "q"], [p + "query"]),
            helper.make_node("MatMul", [p + "norm", p + "k"], [p + "key"]),
            helper.make_node("MatMul", [p + "norm", p + "v"], [p + "value"]),
            helper.make_node(
                "GroupQueryAttention",
                [p + "query", p + "key", p + "value", past_k, past_v, "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"],
                [p + "attn", present_k, present_v],
                domain="com.microsoft", num_heads=HEADS, kv_num_heads=KV_HEADS, do_rotary=1, scale=float(HEAD ** -0.5)),
            helper.make_node("MatMul", [p + "attn", p + "o"], [p + "proj"]),
            helper.make_node("Add", [hidden, p + "proj"], [p + "out"]),
        ]
        hidden = p + "out"

    nodes += [
        helper.make_node("LayerNormalization", [hidden, "ln_scale", "ln_bias"], ["final_norm"], axis=-1),
        # Tied embeddings (as Qwen2.5's small models), which keeps the file under 1 MB.
        helper.make_node("Transpose", ["embed"], ["lm_head"], perm=[1, 0]),
        helper.make_node("MatMul", ["final_norm", "lm_head"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "tiny_gqa_op", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="daprllm-tests")
    model.ir_version = 8
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))

    with open(os.path.join(DEMO, "genai_config.json")) as f:
        config = json.load(f)
    decoder = config["model"]["decoder"]
    decoder.update(head_size=HEAD, hidden_size=HIDDEN, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, num_hidden_layers=LAYERS)
    # The builder's GQA exports take no position_ids: the op derives positions from seqlens_k.
    decoder["inputs"].pop("position_ids", None)
    config["model"]["type"] = "qwen2"
    config["model"]["context_length"] = CONTEXT
    config["search"]["max_length"] = CONTEXT
    config["search"]["past_present_share_buffer"] = True
    with open(os.path.join(out, "genai_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(DEMO, name), os.path.join(out, name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    build(parser.parse_args().out)
