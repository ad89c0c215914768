"""Offline study (TUNING.md, v4 study): OpenAI-only logistic heads on the MiniLM vector, averaged with the shipped heads.

Inputs, both written by tools/DaprLlm.SafetyTrain (nothing here is shipped or trained into a model):
  margins.jsonl  from --dump-margins (out-of-fold margins per head, fold, source, labels, text of every row)
  cache.bin      the embedding cache in /tmp (daprllm-safety-embeddings-64-minilm-l6-int8[-mean-max]-single.bin)
Run: /usr/bin/python3 in_domain_heads.py margins.jsonl cache.bin [l2=1e-3] [weight=0.5] [benign=0]
benign > 0 also trains the extra heads on every other source's benign rows (negatives, that sample weight each).
OpenAI rows are scored out-of-fold (same folds as the tool); every other row by heads trained on all OpenAI rows,
as a shipped model would score it. Prints any-category AUPRC and the benign score rates, base vs combined.
"""
import hashlib, json, struct, sys
import numpy as np
import torch

torch.set_num_threads(1)
OPENAI = 'openai_moderation_1680_dev.jsonl'


def read_cache(path):
    dim = 768 if 'mean-max' in path else 384
    vectors = {}
    with open(path, 'rb') as f:
        for _ in range(struct.unpack('<i', f.read(4))[0]):
            length, shift = 0, 0
            while True:  # .NET BinaryWriter string: 7-bit length prefix
                b = f.read(1)[0]
                length |= (b & 0x7f) << shift
                shift += 7
                if b < 0x80:
                    break
            key = f.read(length).decode()
            vectors[key] = np.frombuffer(f.read(dim * 4), dtype='<f4')
    return vectors


def platt(m, y):
    pos = y.sum(); neg = len(y) - pos
    t = np.where(y == 1, (pos + 1) / (pos + 2), 1 / (neg + 2)); a, b = 1.0, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * m + b))); d = p - t; w = p * (1 - p)
        g = np.array([(d * m).sum(), d.sum()])
        h = np.array([[(w * m * m).sum() + 1e-6, (w * m).sum()], [(w * m).sum(), w.sum() + 1e-6]])
        step = np.linalg.solve(h, g); a -= step[0]; b -= step[1]
        if np.abs(step).max() < 1e-9:
            break
    return a, b


def ap(score, y):
    o = np.argsort(-score, kind='stable'); y = y[o]
    return ((np.cumsum(y) / np.arange(1, len(y) + 1)) * y).sum() / max(y.sum(), 1)


def logreg(x, y, l2, sw=None):
    """Class-balanced (positive weight capped at 8, as the tool's heads) L2 logistic regression by L-BFGS."""
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    sw = np.ones(len(y)) if sw is None else sw
    wt = torch.tensor(sw, dtype=torch.float64) * torch.where(yt == 1, min(8.0, (sw * (1 - y)).sum() / (sw * y).sum()), 1.0)
    th = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([th], max_iter=200, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        z = xt @ th[:-1] + th[-1]
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction='none') * wt).sum() / wt.sum() + l2 * (th[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return th.detach().numpy()


def fit(e, rows, negatives, h, y, l2, benign):
    i = np.concatenate([rows, negatives])
    targets = np.concatenate([y[rows, h], np.zeros(len(negatives))]).astype(float)
    return logreg(e[i], targets, l2, np.concatenate([np.ones(len(rows)), np.full(len(negatives), benign)]))


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    cache = read_cache(sys.argv[2])
    l2 = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
    weight = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
    benign = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    e = np.stack([cache[hashlib.sha256(r['text'].encode()).hexdigest().upper()] for r in rows])
    m = np.array([r['margins'] for r in rows])[:, :10]  # the ten content heads (jailbreak left out)
    y = np.array([r['heads'] for r in rows])[:, :10]
    fold = np.array([r['fold'] for r in rows]); src = np.array([r['source'] for r in rows]); label = np.array([r['label'] for r in rows])
    base = np.zeros_like(m)
    for h in range(10):
        k = y[:, h] >= 0; a, b = platt(m[k, h], y[k, h]); base[:, h] = 1 / (1 + np.exp(-(a * m[:, h] + b)))
    oa = np.where(src == OPENAI)[0]; other = np.where(src != OPENAI)[0]
    negatives = np.where((src != OPENAI) & (label == 0))[0] if benign > 0 else np.zeros(0, dtype=int)
    z = np.full(m.shape, -10.0)
    extra = np.zeros_like(m)
    for h in range(10):
        yy = y[oa, h]
        if (yy == 1).sum() < 3:
            continue
        for f in range(fold.max() + 1):
            train = (fold[oa] != f) & (yy >= 0); held = oa[fold[oa] == f]
            th = fit(e, oa[train], negatives[fold[negatives] != f], h, y, l2, benign); z[held, h] = e[held] @ th[:-1] + th[-1]
            rest = negatives[fold[negatives] == f]; z[rest, h] = e[rest] @ th[:-1] + th[-1]  # out-of-fold for the benign rows too
        k = yy >= 0
        th = fit(e, oa[k], negatives, h, y, l2, benign)
        done = np.isin(other, negatives); z[other[~done], h] = e[other[~done]] @ th[:-1] + th[-1]
        a, b = platt(z[oa][k, h], yy[k]); extra[:, h] = 1 / (1 + np.exp(-(a * z[:, h] + b)))
    for name, p in [('base', base), ('in-domain only', extra), (f'combined w={weight}', (1 - weight) * base + weight * extra)]:
        top = p.max(1)
        out = [f'{name}: OpenAI AUPRC {ap(top[oa], label[oa]):.4f}']
        for s in ['xstest_v2.jsonl', 'hate_toxigen_seeds.jsonl']:
            i = np.where(src == s)[0]; out.append(f'{s[:6]} AUPRC {ap(top[i], label[i]):.4f}')
        for s in ['xstest_v2.jsonl', 'benign_self_instruct_252.jsonl', 'everyday_chat_train.jsonl', 'demo_model_outputs_train.jsonl']:
            i = np.where((src == s) & (label == 0))[0]; out.append(f'{s[:8]} benign >0.2 {(top[i] > 0.2).mean():.3f}')
        print(' | '.join(out), flush=True)


if __name__ == '__main__':
    main()
