"""Train, export and verify DaprLlm's demo chat model (daprllm-kjv-small).

Reproducible: fixed seeds, fixed step count, single-threaded BLAS. Run from the repository root:
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/demo-model/train.py --out models/daprllm-kjv-small
Data: the King James Bible (public domain) printed by Debian's `bible` command (packages bible-kjv, bible-kjv-text).
The model learns a "continue the scripture" chat task: the user sends a verse, the assistant answers with the next
verses, in the Phi-3 chat format (<|user|> ... <|end|> <|assistant|> ... <|end|>), so <|end|> is a real stop token.
"""
import argparse, collections, json, math, os, random, re, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from kjv_verses import load_verses

SPECIALS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
# GPT-2's pre-tokenizer restricted to ASCII classes (identical to \p{L}/\p{N} on the ASCII KJV text).
PRETOKEN = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()


def train_bpe(words_freq, num_merges):
    """Classic BPE over byte-level symbols with an index from pairs to the words that contain them."""
    words = [[B2U[b] for b in w.encode("utf-8")] for w in words_freq]
    freqs = list(words_freq.values())
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    merges = []
    for _ in range(num_merges):
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = best[0] + best[1]
        for i in list(where[best]):
            w = words[i]
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] -= freqs[i]
                if pairs[(a, b)] <= 0:
                    del pairs[(a, b)]
                where[(a, b)].discard(i)
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pairs[(a, b)] += freqs[i]
                where[(a, b)].add(i)
        where.pop(best, None)
    return merges


class Bpe:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {}

    def encode_word(self, word):
        if word in self.cache:
            return self.cache[word]
        sym = [B2U[b] for b in word.encode("utf-8")]
        while len(sym) > 1:
            ranked = [(self.ranks.get((a, b), 1 << 30), k) for k, (a, b) in enumerate(zip(sym, sym[1:]))]
            r, k = min(ranked)
            if r == 1 << 30:
                break
            sym = sym[:k] + [sym[k] + sym[k + 1]] + sym[k + 2:]
        ids = [self.vocab[s] for s in sym]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        out = []
        for w in PRETOKEN.findall(text):
            out.extend(self.encode_word(w))
        return out


def tokenizer_json(vocab, merges):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for s in SPECIALS],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
                 "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")


# ----------------------------------------------------------------------------------------------------------------
# Llama-style decoder: RMSNorm, rotary positions, SwiGLU, no biases, tied embeddings.

class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v):
        b, s, d = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd) + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, s, d)
        x = x + self.o(y)
        h = self.n2(x)
        x = x + self.down(F.silu(self.gate(h)) * self.up(h))
        return x, k, v


class Llama(nn.Module):
    def __init__(self, vocab, d, layers, heads, ffn, ctx):
        super().__init__()
        self.cfg = dict(vocab=vocab, d=d, layers=layers, heads=heads, ffn=ffn, ctx=ctx)
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads, ffn) for _ in range(layers))
        self.norm = RMSNorm(d)
        hd = d // heads
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        nn.init.normal_(self.emb.weight, std=0.02)
        for blk in self.blocks:
            for lin in (blk.q, blk.k, blk.v, blk.gate, blk.up):
                nn.init.normal_(lin.weight, std=0.02)
            for lin in (blk.o, blk.down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * layers))

    def forward(self, input_ids, attention_mask, position_ids, past):
        """past: list of (k, v) [B,H,P,hd]; attention_mask [B,P+S] (1 = real token); returns logits and presents."""
        b, s = input_ids.shape
        x = self.emb(input_ids)
        freqs = position_ids.unsqueeze(-1).float() * self.inv_freq  # [B,S,hd/2]
        angles = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)      # [B,1,S,hd]
        cos, sin = torch.cos(angles), torch.sin(angles)
        total = attention_mask.shape[1]
        p = total - s
        # Causal over absolute slots: query i (at slot p+i) sees keys at slots <= p+i; padded slots are masked.
        qi = torch.arange(s).unsqueeze(1) + p
        kj = torch.arange(total).unsqueeze(0)
        allowed = (kj <= qi).unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(1)
        bias = torch.zeros(allowed.shape, dtype=torch.float32).masked_fill(~allowed, torch.finfo(torch.float32).min)
        presents = []
        for blk, (pk, pv) in zip(self.blocks, past):
            x, k, v = blk(x, cos, sin, bias, pk, pv)
            presents.append((k, v))
        logits = F.linear(self.norm(x), self.emb.weight)
        return logits, presents

    def empty_past(self, b):
        hd = self.cfg["d"] // self.cfg["heads"]
        z = torch.zeros(b, self.cfg["heads"], 0, hd)
        return [(z, z) for _ in range(self.cfg["layers"])]

    def lm(self, ids):
        b, s = ids.shape
        pos = torch.arange(s).unsqueeze(0).expand(b, s)
        return self.forward(ids, torch.ones(b, s, dtype=torch.long), pos, self.empty_past(b))[0]


class OnnxWrapper(nn.Module):
    """Flat signature for torch.onnx.export in ORT GenAI's llama layout."""
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/daprllm-kjv-small")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--d", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--calibrate", action="store_true", help="time 10 steps and exit")
    args = ap.parse_args()
    random.seed(1234); np.random.seed(1234); torch.manual_seed(1234)
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    verses = load_verses()
    print(f"{len(verses)} verses, {sum(map(len, verses))} chars", flush=True)
    freq = collections.Counter()
    for v in verses:
        freq.update(PRETOKEN.findall(v))
    freq.update(PRETOKEN.findall("\n"))
    merges = train_bpe(freq, args.vocab - 256 - len(SPECIALS))
    vocab = {B2U[b]: b for b in range(256)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for s in SPECIALS:
        vocab[s] = len(vocab)
    bpe = Bpe(vocab, merges)
    print(f"bpe: {len(merges)} merges, vocab {len(vocab)} ({time.time() - t0:.0f}s)", flush=True)

    # One chat exchange per verse: user = verse i, assistant = verses i+1.. (1 or 2 verses).
    sp = {s: vocab[s] for s in SPECIALS}
    nl = bpe.encode("\n")
    enc = [bpe.encode(v) for v in verses]
    rng = random.Random(1234)
    order = list(range(len(verses) - 2))
    val_idx = set(rng.sample(order, len(order) // 50))
    def exchange(i):
        ans = enc[i + 1] + (bpe.encode(" ") + enc[i + 2] if rng.random() < 0.3 else [])
        return [sp["<|user|>"]] + nl + enc[i] + [sp["<|end|>"]] + nl + [sp["<|assistant|>"]] + nl + ans + [sp["<|end|>"]] + nl
    train_ids, val_ids = [], []
    for i in order:
        (val_ids if i in val_idx else train_ids).extend(exchange(i))
    train_t = torch.tensor(train_ids, dtype=torch.long)
    val_t = torch.tensor(val_ids, dtype=torch.long)
    chars = sum(len(v) for v in verses)
    print(f"train {len(train_ids)} tokens, val {len(val_ids)}; {chars / sum(map(len, enc)):.2f} chars/token", flush=True)

    model = Llama(len(vocab), args.d, args.layers, args.heads, args.ffn, args.seq)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params {nparams}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    gen = torch.Generator().manual_seed(1234)

    def batch(data, n):
        ix = torch.randint(0, len(data) - args.seq - 1, (n,), generator=gen)
        x = torch.stack([data[i:i + args.seq] for i in ix])
        y = torch.stack([data[i + 1:i + args.seq + 1] for i in ix])
        return x, y

    def evaluate():
        model.eval()
        g = torch.Generator().manual_seed(99)
        losses = []
        with torch.no_grad():
            for _ in range(8):
                ix = torch.randint(0, len(val_t) - args.seq - 1, (16,), generator=g)
                x = torch.stack([val_t[i:i + args.seq] for i in ix])
                y = torch.stack([val_t[i + 1:i + args.seq + 1] for i in ix])
                losses.append(F.cross_entropy(model.lm(x).reshape(-1, len(vocab)), y.reshape(-1)).item())
        model.train()
        return sum(losses) / len(losses)

    steps = 10 if args.calibrate else args.steps
    warm = min(100, steps // 10 + 1)
    ts = time.time()
    loss_log = []
    for step in range(steps):
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g_ in opt.param_groups:
            g_["lr"] = lr
        x, y = batch(train_t, args.batch)
        loss = F.cross_entropy(model.lm(x).reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_log.append(loss.item())
        if step % 25 == 0 or step == steps - 1:
            el = time.time() - ts
            print(f"step {step} loss {loss.item():.3f} lr {lr:.2e} {(step + 1) * args.batch * args.seq / el:.0f} tok/s {el:.0f}s", flush=True)
    if args.calibrate:
        return
    train_loss = sum(loss_log[-50:]) / len(loss_log[-50:])
    val_loss = evaluate()
    print(f"final train loss {train_loss:.3f} val loss {val_loss:.3f} ({time.time() - ts:.0f}s training)", flush=True)
    model.eval()

    # KV-cache decoding must equal full recomputation.
    with torch.no_grad():
        prompt = [sp["<|user|>"]] + nl + bpe.encode("In the beginning God created the heaven and the earth.") + [sp["<|end|>"]] + nl + [sp["<|assistant|>"]] + nl
        ids = torch.tensor([prompt])
        pos = torch.arange(len(prompt)).unsqueeze(0)
        logits, past = model(ids, torch.ones_like(ids), pos, model.empty_past(1))
        seq = list(prompt)
        max_diff = 0.0
        for _ in range(40):
            nxt = int(logits[0, -1].argmax())
            seq.append(nxt)
            full = model.lm(torch.tensor([seq]))[0, -1]
            t = torch.tensor([[nxt]])
            logits, past = model(t, torch.ones(1, len(seq), dtype=torch.long), torch.tensor([[len(seq) - 1]]), past)
            max_diff = max(max_diff, float((full - logits[0, -1]).abs().max()))
        print(f"kv-cache vs full recompute: max |logit diff| {max_diff:.2e}", flush=True)
        assert max_diff < 1e-3, "KV-cache decoding differs from full recomputation"
        inv = {i: s for s, i in vocab.items()}
        u2b = {u: b for b, u in B2U.items()}
        def decode(ids_):
            out = bytearray()
            for i in ids_:
                s = inv[i]
                out += s.encode() if s in SPECIALS else bytes(u2b[c] for c in s)
            return out.decode("utf-8", errors="replace")
        sample = decode(seq[len(prompt):])
        print("sample:", sample, flush=True)

    # Export in ORT GenAI's llama layout.
    hd = args.d // args.heads
    wrapper = OnnxWrapper(model)
    b, s, p = 2, 3, 4
    dummy_past = []
    in_names = ["input_ids", "attention_mask", "position_ids"]
    out_names = ["logits"]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for i in range(args.layers):
        for kind in ("key", "value"):
            dummy_past.append(torch.randn(b, args.heads, p, hd))
            in_names.append(f"past_key_values.{i}.{kind}")
            out_names.append(f"present.{i}.{kind}")
            dyn[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    onnx_path = os.path.join(args.out, "model.onnx")
    export_kwargs = dict(input_names=in_names, output_names=out_names, dynamic_axes=dyn, opset_version=17, do_constant_folding=True)
    dummy = (torch.randint(0, len(vocab), (b, s)), torch.ones(b, p + s, dtype=torch.long), torch.arange(p, p + s).unsqueeze(0).expand(b, s).contiguous(), *dummy_past)
    try:
        torch.onnx.export(wrapper, dummy, onnx_path, dynamo=False, **export_kwargs)
    except TypeError:
        torch.onnx.export(wrapper, dummy, onnx_path, **export_kwargs)
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    onnx.save(m, onnx_path)  # single file: weights inline (model is small)
    for f in os.listdir(args.out):
        if f.endswith(".data") or f.endswith(".onnx.data"):
            os.remove(os.path.join(args.out, f))
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB)", flush=True)

    with open(os.path.join(args.out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "bos_token": None, "eos_token": "<|end|>", "pad_token": "<|endoftext|>",
                   "unk_token": None, "add_bos_token": False, "add_prefix_space": False, "model_max_length": args.seq,
                   "chat_template": CHAT_TEMPLATE,
                   "added_tokens_decoder": {str(vocab[s]): {"content": s, "special": True} for s in SPECIALS}}, f, indent=2)
    genai = {
        "model": {
            "bos_token_id": vocab["<|endoftext|>"], "context_length": args.seq,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": "model.onnx", "head_size": hd, "hidden_size": args.d,
                "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids",
                           "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"},
                "outputs": {"logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value"},
                "num_attention_heads": args.heads, "num_hidden_layers": args.layers, "num_key_value_heads": args.heads},
            "eos_token_id": [vocab["<|end|>"], vocab["<|endoftext|>"]],
            "pad_token_id": vocab["<|endoftext|>"], "type": "llama", "vocab_size": len(vocab)},
        "search": {"diversity_penalty": 0.0, "do_sample": False, "early_stopping": True, "length_penalty": 1.0,
                   "max_length": args.seq, "min_length": 0, "no_repeat_ngram_size": 0, "num_beams": 1,
                   "num_return_sequences": 1, "past_present_share_buffer": False, "repetition_penalty": 1.0,
                   "temperature": 1.0, "top_k": 1, "top_p": 1.0},
    }
    with open(os.path.join(args.out, "genai_config.json"), "w") as f:
        json.dump(genai, f, indent=2)
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump({"params": nparams, "train_loss": round(train_loss, 4), "val_loss": round(val_loss, 4),
                   "steps": steps, "batch": args.batch, "seq": args.seq, "vocab": len(vocab), "merges": len(merges),
                   "d": args.d, "layers": args.layers, "heads": args.heads, "ffn": args.ffn,
                   "kv_max_logit_diff": max_diff, "sample_prompt": "In the beginning God created the heaven and the earth.",
                   "sample": sample, "seconds": round(time.time() - t0)}, f, indent=2)
    print(f"done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
