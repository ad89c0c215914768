#!/usr/bin/python3
"""Fold-K check of a fine-tuned encoder (TUNING.md, v5 study): any-category AUPRC of fold K's OpenAI rows.

Usage: /usr/bin/python3 eval_fold.py <margins.jsonl> <texts.jsonl> <frozen.npy> <finetuned.npy> [--fold 0]
       [--tool-margins base.jsonl finetuned.jsonl]
The .npy files are embed_rows.py's vectors (texts.jsonl order). Simple heads: one class-balanced L2 logistic head per
trained category on the vector alone, trained on the rows of the other folds (all of them, the tool's sample weights),
any-category score = max head probability, as the evaluation tool ranks. --tool-margins: SafetyTrain --dump-margins runs
(n-grams + vector heads) on the two caches; fold K's rows are Platt-calibrated per head on fold K's own margins (the
same for both, so the comparison is fair; the other folds' margins are not honest for a per-fold encoder trained on them).
"""
import argparse
import json

import numpy as np
import torch

OPENAI = 'openai_moderation_1680_dev.jsonl'
# The OpenAI set's label keys -> the tool's head index (sexual, sexual/minors, hate, hate/threatening, harassment,
# harassment/threatening, self-harm, violence, violence/graphic, illicit, jailbreak).
CATEGORY_HEADS = {'S': 0, 'H': 2, 'V': 7, 'HR': 4, 'SH': 6, 'S3': 1, 'H2': 3, 'V2': 8}


def ap(score, y):
    o = np.argsort(-score, kind='stable'); y = y[o]
    return float(((np.cumsum(y) / np.arange(1, len(y) + 1)) * y).sum() / max(y.sum(), 1))


def logreg(x, y, sw, l2=1e-4):
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    pos = (sw * y).sum(); neg = (sw * (1 - y)).sum()
    wt = torch.tensor(sw, dtype=torch.float64) * torch.where(yt == 1, min(8.0, neg / max(pos, 1e-9)), 1.0)
    th = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([th], max_iter=300, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        z = xt @ th[:-1] + th[-1]
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction='none') * wt).sum() / wt.sum() + l2 * (th[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return th.detach().numpy()


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


def simple_heads(rows, vectors, fold):
    heads = np.array([r['heads'] for r in rows]); folds = np.array([r['fold'] for r in rows])
    weight = np.array([r['weight'] for r in rows])
    test = np.array([r['source'] == OPENAI and r['fold'] == fold for r in rows])
    score = np.zeros((test.sum(), heads.shape[1]))
    for h in range(heads.shape[1]):
        k = (folds != fold) & (heads[:, h] >= 0)
        th = logreg(vectors[k], heads[k, h].astype(float), weight[k])
        score[:, h] = 1 / (1 + np.exp(-(vectors[test] @ th[:-1] + th[-1])))
    label = np.array([r['label'] for r in rows])[test]
    return ap(score.max(1), label), score, label


def tool_margins(path, fold):
    rows = [json.loads(line) for line in open(path)]
    rows = [r for r in rows if r['fold'] == fold]
    m = np.array([r['margins'] for r in rows]); y = np.array([r['heads'] for r in rows])
    p = np.zeros_like(m)
    for h in range(m.shape[1]):
        k = y[:, h] >= 0; a, b = platt(m[k, h], y[k, h]); p[:, h] = 1 / (1 + np.exp(-(a * m[:, h] + b)))
    o = np.array([r['source'] == OPENAI for r in rows]); label = np.array([r['label'] for r in rows])[o]
    per = {c: ap(p[o][:, h], np.array([int((r['labels'] or {}).get(c) or 0) for r in rows if r['source'] == OPENAI]))
           for c, h in CATEGORY_HEADS.items()}
    return ap(p[o].max(1), label), per


def main():
    p = argparse.ArgumentParser()
    p.add_argument('margins'); p.add_argument('texts'); p.add_argument('frozen'); p.add_argument('finetuned')
    p.add_argument('--fold', type=int, default=0); p.add_argument('--tool-margins', nargs=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    rows = [json.loads(line) for line in open(a.margins)]
    index = {t: i for i, t in enumerate(json.loads(line) for line in open(a.texts))}
    at = np.array([index[r['text']] for r in rows])
    for name, path in (('frozen', a.frozen), ('fine-tuned', a.finetuned)):
        if path != '-':
            score, _, label = simple_heads(rows, np.load(path)[at], a.fold)
            print(f'simple heads, {name} encoder: fold {a.fold} OpenAI AUPRC {score:.4f} ({len(label)} rows, {label.sum()} positive)', flush=True)
    if a.tool_margins:
        for name, path in zip(('tool heads, first margins', 'tool heads, second margins'), a.tool_margins):
            score, per = tool_margins(path, a.fold)
            print(f'{name} ({path}): fold {a.fold} OpenAI AUPRC {score:.4f}; per category ' + ' '.join(f'{c} {v:.3f}' for c, v in per.items()), flush=True)


if __name__ == '__main__':
    main()
