#!/usr/bin/env python3
"""Writes everyday_chat_train.jsonl: benign short chat prompts for training (negatives for every head).

Why: the labelled sources have almost no short, ordinary questions except XSTest's, where 44% of the "How do I ...?"
questions are unsafe, so the heads learned "short how-to question" as a sign of harm and refused "What should I do
today?". These rows, built from templates and word lists written for DaprLlm (no dataset copied), give the heads the
everyday form with benign content. The hand-written evaluation set models/safety/eval/everyday_chat_prompts.jsonl is
kept apart: any row equal to one of its texts (case-insensitive) is dropped here.
Run: /usr/bin/python3 tools/DaprLlm.SafetyTrain/data/make_everyday_chat_train.py (seeded, deterministic).
"""
import json, os, random

random.seed(7)
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", "..", ".."))

activities = ["bake bread", "learn chess", "paint a fence", "grow herbs indoors", "fix a dripping tap", "write a blog post",
    "start a podcast", "learn the piano", "make sushi", "train for a 5k", "organize my closet", "plan a picnic",
    "improve my handwriting", "learn to sew", "repot a plant", "make candles", "brew kombucha", "build a birdhouse",
    "clean my oven", "learn Spanish", "practice yoga", "take better photos", "write a short story", "set up a fish tank",
    "make pizza dough", "study for a math test", "decorate a cake", "learn photography", "make a scrapbook",
    "improve my posture", "wash a wool sweater", "iron a shirt", "set up a home office", "start a book club"]
things = ["a volcano", "the stock market", "a rainbow", "a lighthouse", "the internet", "a vaccine", "a hurricane",
    "a credit score", "an eclipse", "a sonnet", "a spreadsheet", "the Great Wall of China", "a sourdough loaf",
    "a thermostat", "an electric car", "the Olympic Games", "a glacier", "jazz", "a mortgage", "a compass",
    "a microwave oven", "the human heart", "a coral reef", "an orchestra", "a library card", "a time zone"]
places = ["Lisbon", "Kyoto", "the Scottish Highlands", "New York", "Cape Town", "Vancouver", "Iceland", "Prague",
    "Buenos Aires", "the Alps", "Seoul", "a small seaside town", "Morocco", "Sydney", "the Lake District"]
people = ["my mom", "my best friend", "a new colleague", "my teacher", "my grandfather", "my roommate", "my boss",
    "my sister", "a neighbor", "my son", "my daughter", "my partner"]
occasions = ["a birthday", "an anniversary", "a graduation", "a retirement party", "a baby shower", "a housewarming",
    "Mother's Day", "a farewell lunch", "New Year's Eve", "a school reunion"]
foods = ["lentil soup", "a fruit salad", "chocolate chip cookies", "a vegetable curry", "lemon cake", "guacamole",
    "fried rice", "a Greek salad", "apple pie", "pasta with pesto", "a chicken stir-fry", "porridge", "hummus"]
moods = ["tired", "happy", "a bit lonely", "excited", "nervous about tomorrow", "unmotivated", "curious", "relaxed"]
times = ["tonight", "this morning", "tomorrow", "on Sunday", "after work", "this evening", "during my lunch break"]

templates = [
    lambda: f"How do I {random.choice(activities)}?",
    lambda: f"How can I {random.choice(activities)} on a budget?",
    lambda: f"What's the easiest way to {random.choice(activities)}?",
    lambda: f"Any tips to {random.choice(activities)}?",
    lambda: f"Where do I start if I want to {random.choice(activities)}?",
    lambda: f"What is {random.choice(things)}?",
    lambda: f"How does {random.choice(things)} work?",
    lambda: f"Explain {random.choice(things)} in two sentences.",
    lambda: f"Tell me three facts about {random.choice(things)}.",
    lambda: f"What should I see in {random.choice(places)}?",
    lambda: f"Is {random.choice(places)} nice in winter?",
    lambda: f"Plan a two-day trip to {random.choice(places)}.",
    lambda: f"What should I get {random.choice(people)} for {random.choice(occasions)}?",
    lambda: f"Write a card for {random.choice(people)} for {random.choice(occasions)}.",
    lambda: f"How do I cheer up {random.choice(people)}?",
    lambda: f"How do I make {random.choice(foods)}?",
    lambda: f"Can I make {random.choice(foods)} without an oven?",
    lambda: f"What goes well with {random.choice(foods)}?",
    lambda: f"I'm {random.choice(moods)}. What should I do {random.choice(times)}?",
    lambda: f"What should I do {random.choice(times)}?",
    lambda: f"What could we do {random.choice(times)}?",
    lambda: f"Should I {random.choice(activities)} {random.choice(times)}?",
    lambda: f"Help me {random.choice(activities)}.",
    lambda: f"I want to {random.choice(activities)}. Where do I begin?",
    lambda: f"Why do people like {random.choice(things)}?",
    lambda: f"Who invented {random.choice(things)}?",
    lambda: f"Hi! Can you tell me about {random.choice(things)}?",
    lambda: f"Hey, quick question: how do I {random.choice(activities)}?",
    lambda: f"Thanks! And what should I eat {random.choice(times)}?",
    lambda: f"Good morning! What's a fun thing to do {random.choice(times)}?",
]

eval_path = os.path.join(root, "models", "safety", "eval", "everyday_chat_prompts.jsonl")
held_out = {json.loads(line)["text"].strip().lower() for line in open(eval_path, encoding="utf-8") if line.strip()}
rows, seen = [], set()
while len(rows) < 600:
    text = random.choice(templates)()
    key = text.lower()
    if key in seen or key in held_out:
        continue
    seen.add(key)
    rows.append(text)

with open(os.path.join(here, "everyday_chat_train.jsonl"), "w", encoding="utf-8") as f:
    for i, text in enumerate(rows):
        f.write(json.dumps({"id": f"everyday_chat_train:{i}", "text": text, "label": 0, "label_name": "benign",
                            "split": "train", "meta": {"source": "templates written for DaprLlm"}}) + "\n")
print(f"{len(rows)} rows")
