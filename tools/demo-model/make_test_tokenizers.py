#!/usr/bin/python3
"""Builds the small tokenizer fixtures of the inference tests (no downloads):

- llama3-bpe/tokenizer.json: the demo model's byte-level BPE vocabulary and merges behind the pre-tokenizer that
  Llama 3 and Qwen2.5 tokenizer.json files declare (a Sequence of a Split regex and ByteLevel without regex), and
  Llama 3's special tokens, so the loader must take the split regex from the file.
- sentencepiece/tokenizer.model: a SentencePiece BPE model with byte fallback, identity normalization and kept whitespace (the Llama-2 / Phi-3 kind) trained on
  KJV verses from the Debian bible-kjv package, plus a tokenizer_config.json whose added tokens are Phi-3's chat
  markers after the SentencePiece vocabulary (as in Phi-3 folders).

    apt-get install -y python3-sentencepiece bible-kjv
    /usr/bin/python3 tools/demo-model/make_test_tokenizers.py --out tests/DaprLlm.Inference.Tests/TestModels/tokenizers
"""
import argparse
import json
import os
import subprocess
import tempfile

import sentencepiece as spm

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "models", "daprllm-kjv-small")
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|end_of_text|>"]
PHI3_SPECIALS = ["<|endoftext|>", "<|assistant|>", "<|end|>", "<|system|>", "<|user|>"]


def llama3(out):
    with open(os.path.join(DEMO, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    ids = [t["id"] for t in tok["added_tokens"]]
    for token in tok["added_tokens"]:
        del tok["model"]["vocab"][token["content"]]
    tok["added_tokens"] = [dict(token, content=name) for token, name in zip(tok["added_tokens"], LLAMA3_SPECIALS)]
    for token in tok["added_tokens"]:
        tok["model"]["vocab"][token["content"]] = token["id"]
    assert len(ids) == len(LLAMA3_SPECIALS)
    # One merge that only a file-declared split can block: "3 4" joins digits inside GPT-2's one-run pre-token,
    # but Llama 3's three-digit groups put "123" and "456" in different pre-tokens.
    tok["model"]["vocab"]["34"] = max(tok["model"]["vocab"].values()) + 1
    tok["model"]["merges"].append("3 4")
    tok["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)


def sentencepiece(out):
    text = subprocess.run(["bible", "-f", "Gen1:1-Gen50:26", "Ps1:1-Ps150:6"], capture_output=True, text=True, check=True).stdout
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(text)
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(tmp, "sp"), model_type="bpe", vocab_size=512,
                                       byte_fallback=True, character_coverage=1.0, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
                                       split_digits=True, num_threads=1, minloglevel=2,
                                       normalization_rule_name="identity", remove_extra_whitespaces=False)
        with open(os.path.join(tmp, "sp.model"), "rb") as src, open(os.path.join(out, "tokenizer.model"), "wb") as dst:
            dst.write(src.read())
    size = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model")).get_piece_size()
    config = {
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "<|endoftext|>", "add_bos_token": False,
        "added_tokens_decoder": {str(size + i): {"content": name, "special": True} for i, name in enumerate(PHI3_SPECIALS)},
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    root = parser.parse_args().out
    llama3(os.path.join(root, "llama3-bpe"))
    sentencepiece(os.path.join(root, "sentencepiece"))
