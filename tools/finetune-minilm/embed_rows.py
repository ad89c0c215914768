#!/usr/bin/python3
"""Embed every text with a (fine-tuned or the original) MiniLM and write the vectors as SafetyTrain's embedding cache.

Usage: /usr/bin/python3 embed_rows.py <encoder.pt | original> <texts.jsonl> <ids.txt> <cache.bin> [--threads 2]
The cache is what tools/DaprLlm.SafetyTrain reads before it would embed with ONNX (EmbeddingCache.cs: SHA-256 of the text,
384 floats): name it /tmp/daprllm-safety-embeddings-64-<graph name>-single.bin and pass --embed-model <graph name>.onnx with
--cv-only, and the tool's heads, calibration and metrics run on these vectors. Float vectors (the served graph is int8:
cosine 0.98-0.99 to these, TUNING.md).
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_torch as mt  # noqa: E402
from finetune_minilm import DLL, pad  # noqa: E402


def write_cache(path, texts, vectors):
    with open(path, 'wb') as f:
        f.write(struct.pack('<i', len(texts)))
        for text, vector in zip(texts, vectors):
            key = hashlib.sha256(text.encode()).hexdigest().upper().encode()
            f.write(bytes([len(key)]))  # .NET BinaryWriter string: 7-bit length prefix (64 < 128: one byte)
            f.write(key)
            f.write(np.asarray(vector, dtype='<f4').tobytes())


def main():
    p = argparse.ArgumentParser()
    p.add_argument('encoder'); p.add_argument('texts'); p.add_argument('ids'); p.add_argument('out')
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    encoder, texts_path, ids_path, out = a.encoder, a.texts, a.ids, a.out
    torch.set_num_threads(a.threads)
    model, _ = mt.load(DLL)
    if encoder != 'original':
        model.load_state_dict(torch.load(encoder)['encoder'])
    model.eval()
    texts = [json.loads(line) for line in open(texts_path)]
    ids = [[int(x) for x in line.split()] for line in open(ids_path)]
    order = np.argsort([len(r) for r in ids])
    vectors = np.zeros((len(texts), mt.DIM), dtype=np.float32)
    clock = time.time()
    with torch.no_grad():
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            tid, mask = pad([ids[i] for i in idx])
            vectors[idx] = model(tid, mask).numpy()
            if start % 6400 == 0:
                print(f'{start}/{len(texts)} at {time.time() - clock:.0f} s', flush=True)
    write_cache(out, texts, vectors)
    np.save(out + '.npy', vectors)
    print(f'{len(texts)} vectors written to {out} in {time.time() - clock:.0f} s', flush=True)


if __name__ == '__main__':
    main()
