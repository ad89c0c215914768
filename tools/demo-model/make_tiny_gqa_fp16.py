#!/usr/bin/python3
"""Builds a tiny ORT GenAI llama-layout model folder with a float16 KV cache and grouped-query attention layout
(4 attention heads, 2 KV heads) for the inference tests: random weights, plain ONNX ops, under 1 MB.

It is not a language model. Each layer's keys/values are embeddings of the input ids (float16), concatenated to
the past like a real decoder's presents; the logits read the mask-weighted sum of the last layer's keys, so they
depend on the whole (unpadded) history and a left-padded batch row gives exactly its solo output.

    /usr/bin/python3 tools/demo-model/make_tiny_gqa_fp16.py --out tests/DaprLlm.Inference.Tests/TestModels/tiny-gqa-fp16
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LAYERS, HEADS, KV_HEADS, HEAD, VOCAB, CONTEXT = 2, 4, 2, 8, 2048, 128
DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "models", "daprllm-kjv-small")


def build(out):
    rng = np.random.default_rng(20261130)
    width = KV_HEADS * HEAD
    inits, nodes = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(array, name))

    init("embed", (rng.standard_normal((VOCAB, width)) * 0.5).astype(np.float16))
    init("unembed", (rng.standard_normal((width, VOCAB)) * 0.5).astype(np.float32))
    init("kv_shape", np.array([0, 0, KV_HEADS, HEAD], dtype=np.int64))
    init("flat_shape", np.array([0, 1, width], dtype=np.int64))
    init("position_scale", np.array(0.01, dtype=np.float32))
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "total"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "sequence"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT16, ["batch", "sequence", VOCAB])]
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            w = f"w_{kind}_{layer}"
            init(w, (rng.standard_normal((VOCAB, width)) * 0.5).astype(np.float16))
            past, present = f"past_key_values.{layer}.{kind}", f"present.{layer}.{kind}"
            inputs.append(helper.make_tensor_value_info(past, TensorProto.FLOAT16, ["batch", KV_HEADS, "past", HEAD]))
            outputs.append(helper.make_tensor_value_info(present, TensorProto.FLOAT16, ["batch", KV_HEADS, "total", HEAD]))
            nodes += [
                helper.make_node("Gather", [w, "input_ids"], [f"{w}_rows"]),
                helper.make_node("Reshape", [f"{w}_rows", "kv_shape"], [f"{w}_heads"]),
                helper.make_node("Transpose", [f"{w}_heads"], [f"{w}_new"], perm=[0, 2, 1, 3]),
                helper.make_node("Concat", [past, f"{w}_new"], [present], axis=2),
            ]

    last_key = f"present.{LAYERS - 1}.key"
    nodes += [
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "mask_axes"], ["mask_4d"]),
        helper.make_node("Cast", [last_key], ["keys_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["keys_f", "mask_4d"], ["keys_masked"]),
        helper.make_node("ReduceSum", ["keys_masked", "sum_axes"], ["context"], keepdims=0),
        helper.make_node("Reshape", ["context", "flat_shape"], ["context_flat"]),
        helper.make_node("Gather", ["embed", "input_ids"], ["tokens_h"]),
        helper.make_node("Cast", ["tokens_h"], ["tokens_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["position_ids"], ["positions_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["positions_f", "position_scale"], ["positions_scaled"]),
        helper.make_node("Unsqueeze", ["positions_scaled", "last_axis"], ["positions_3d"]),
        helper.make_node("Add", ["tokens_f", "context_flat"], ["hidden_a"]),
        helper.make_node("Add", ["hidden_a", "positions_3d"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "unembed"], ["logits_f"]),
        helper.make_node("Cast", ["logits_f"], ["logits"], to=TensorProto.FLOAT16),
    ]
    init("mask_axes", np.array([1, 3], dtype=np.int64))
    init("sum_axes", np.array([2], dtype=np.int64))
    init("last_axis", np.array([2], dtype=np.int64))
    graph = helper.make_graph(nodes, "tiny_gqa_fp16", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="daprllm-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))

    with open(os.path.join(DEMO, "genai_config.json")) as f:
        config = json.load(f)
    decoder = config["model"]["decoder"]
    decoder.update(head_size=HEAD, hidden_size=HEADS * HEAD, num_attention_heads=HEADS,
                   num_key_value_heads=KV_HEADS, num_hidden_layers=LAYERS)
    config["model"]["context_length"] = CONTEXT
    config["search"]["max_length"] = CONTEXT
    with open(os.path.join(out, "genai_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(DEMO, name), os.path.join(out, name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    build(parser.parse_args().out)
