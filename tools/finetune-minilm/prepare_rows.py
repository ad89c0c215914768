#!/usr/bin/python3
"""Write the texts to tokenize (every training row of a SafetyTrain --dump-margins file and the everyday evaluation sets)
and MiniLM's vocab.txt, for tokenize_rows.fsx.

Usage: /usr/bin/python3 prepare_rows.py <margins.jsonl> <models/safety/eval> <work folder>
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_torch as mt  # noqa: E402
from finetune_minilm import DLL  # noqa: E402

margins, eval_folder, work = sys.argv[1:4]
texts = {json.loads(line)['text'] for line in open(margins)}
for path in glob.glob(os.path.join(eval_folder, '*.jsonl')):
    texts |= {json.loads(line)['text'] for line in open(path)}
with open(os.path.join(work, 'texts.jsonl'), 'w') as f:
    for text in sorted(texts):
        f.write(json.dumps(text) + '\n')
with open(os.path.join(work, 'vocab.txt'), 'w') as f:
    f.write('\n'.join(mt.read_vocabulary(DLL)) + '\n')
print(f'{len(texts)} texts')
