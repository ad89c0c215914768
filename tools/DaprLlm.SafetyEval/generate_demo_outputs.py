#!/usr/bin/env python3
"""Writes models/safety/eval/demo_model_outputs.jsonl: answers of the demo model (models/daprllm-kjv-small), sampled at
temperatures 0.7-1.0 over varied prompts by the inference app's own generation path (POST /v1/generate), so the safety
layer can be checked on what the output moderation really sees. Every row is benign (label 0): the model writes
KJV-style sentences. Start the inference app first, e.g.
  ASPNETCORE_URLS=http://127.0.0.1:5981 dotnet src/DaprLlm.Inference/bin/Release/net10.0/DaprLlm.Inference.dll
  (working directory src/DaprLlm.Inference), then: /usr/bin/python3 tools/DaprLlm.SafetyEval/generate_demo_outputs.py [--train]
"""
import json, os, random, sys, urllib.request

# --train writes a disjoint training file instead (other prompts, other seeds): the demo model's answers as
# negatives for every head, the product's own traffic, like reviewer allows would be.
train = "--train" in sys.argv
random.seed(23 if train else 11)
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
url = os.environ.get("INFERENCE_URL", "http://127.0.0.1:5981") + "/v1/generate"
source = os.path.join(root, "tools", "DaprLlm.SafetyTrain", "data", "everyday_chat_train.jsonl") if train \
    else os.path.join(root, "models", "safety", "eval", "everyday_chat_prompts.jsonl")
prompts = [json.loads(l)["text"] for l in open(source, encoding="utf-8")]
if not train:
    prompts += ["Tell me a story.", "Say something.", "Continue: In the beginning", "Write a psalm about the sea.",
                "And it came to pass", "Give me wise advice.", "What did the prophet say?", "Speak of the king."]
rows = []
first = 5000 if train else 1000
for i in range(600 if train else 400):
    prompt = random.choice(prompts)
    temperature = round(random.choice([0.7, 0.8, 0.9, 1.0]), 1)
    max_tokens = random.choice([32, 64, 128, 200])
    body = {"requestId": f"demo-{i}", "model": "daprllm-demo", "messages": [{"role": "user", "content": prompt}],
            "maxTokens": max_tokens, "temperature": temperature, "seed": first + i}
    request = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = json.loads(response.read())["text"]
    if not text.strip():
        continue
    name = "demo_model_outputs_train" if train else "demo_model_outputs"
    rows.append({"id": f"{name}:{i}", "text": text, "label": 0, "label_name": "benign", "split": "train" if train else "eval",
                 "meta": {"model": "daprllm-demo", "prompt": prompt, "temperature": temperature, "max_tokens": max_tokens, "seed": first + i}})

out = os.path.join(root, "tools", "DaprLlm.SafetyTrain", "data", "demo_model_outputs_train.jsonl") if train \
    else os.path.join(root, "models", "safety", "eval", "demo_model_outputs.jsonl")
with open(out, "w", encoding="utf-8") as f:
    for row in rows:
        f.write(json.dumps(row) + "\n")
print(f"{len(rows)} rows")
