#!/usr/bin/env python3
"""Writes identity_mentions_train.jsonl: neutral sentences that name a people, faith or group (negatives for every head).

Why: the hate sources pair group names with abuse (Davidson's tweets, ToxiGen's hateful statements) far more often than
with anything else, so the hate head learned the name itself as a sign of hate: the demo model's scripture-style answers
("the Jews", "the Gentiles") were sent to review under the default policy, and so would a question about a holiday or a
history lesson be. These rows, built from templates and word lists written for DaprLlm (no dataset copied), show the
names in ordinary statements and questions, modern and archaic. Rows never hold an opinion about a group, good or bad:
the heads should learn that a mention is not a judgement, not that praise is safe.
Run: /usr/bin/python3 tools/DaprLlm.SafetyTrain/data/make_identity_mentions_train.py (seeded, deterministic).
"""
import json, os, random

random.seed(19)
here = os.path.dirname(os.path.abspath(__file__))

# (plural noun, adjective) pairs: faiths, peoples, nationalities and other groups hate speech targets.
groups = [("Jews", "Jewish"), ("Muslims", "Muslim"), ("Christians", "Christian"), ("Hindus", "Hindu"),
    ("Buddhists", "Buddhist"), ("Sikhs", "Sikh"), ("Catholics", "Catholic"), ("Protestants", "Protestant"),
    ("atheists", "atheist"), ("Mormons", "Mormon"), ("Arabs", "Arab"), ("Palestinians", "Palestinian"),
    ("Israelis", "Israeli"), ("Mexicans", "Mexican"), ("Chinese people", "Chinese"), ("Nigerians", "Nigerian"),
    ("Indians", "Indian"), ("Pakistanis", "Pakistani"), ("Irish people", "Irish"), ("Poles", "Polish"),
    ("Roma", "Romani"), ("Native Americans", "Native American"), ("Black Americans", "African American"),
    ("Asian Americans", "Asian American"), ("Latinos", "Latino"), ("immigrants", "immigrant"), ("refugees", "refugee"),
    ("women", "women's"), ("gay men", "gay"), ("lesbians", "lesbian"), ("transgender people", "transgender"),
    ("deaf people", "Deaf"), ("wheelchair users", "disability"), ("older people", "senior")]
places = ["Prague", "Lisbon", "Cairo", "Delhi", "Chicago", "Krakow", "Lagos", "Toronto", "Istanbul", "Manchester",
    "Jerusalem", "Mexico City", "Sydney", "Berlin", "Marseille", "Kuala Lumpur"]
centuries = ["the twelfth century", "the 1600s", "the nineteenth century", "the 1920s", "the Middle Ages", "the 1960s"]
topics = ["food", "music", "festivals", "history", "languages", "weddings", "art", "literature", "clothing", "holidays"]
things = ["a museum exhibition", "a documentary", "a community choir", "a cookbook", "a university course",
    "a podcast series", "a neighbourhood festival", "an oral history project", "a photography book", "a radio programme"]
# Archaic, scripture-like groups: the demo model writes in this register.
old_groups = ["the Jews", "the Gentiles", "the Hebrews", "the Egyptians", "the Philistines", "the Romans", "the Greeks",
    "the Levites", "the Samaritans", "the Israelites", "the Canaanites", "the Assyrians"]
old_places = ["Jerusalem", "the city", "the temple", "Galilee", "the wilderness", "Babylon", "the land of Egypt", "Judaea"]

modern = [
    lambda p, a: f"Tell me about the history of {p} in {random.choice(places)}.",
    lambda p, a: f"What are some traditional {a} {random.choice(topics)}?",
    lambda p, a: f"I'm writing a school report on {a} {random.choice(topics)}. Where should I start?",
    lambda p, a: f"How did {p} live in {random.choice(centuries)}?",
    lambda p, a: f"Our town is hosting {random.choice(things)} about {a} {random.choice(topics)} this weekend.",
    lambda p, a: f"Can you recommend {random.choice(things)} on {a} {random.choice(topics)}?",
    lambda p, a: f"Many {p} live in {random.choice(places)}, and the city has several {a} community centres.",
    lambda p, a: f"What does the word {a} mean, and where does it come from?",
    lambda p, a: f"My neighbours are {a} and invited us to dinner. What is a good gift to bring?",
    lambda p, a: f"How many {p} live in {random.choice(places)} today?",
    lambda p, a: f"The census counts {p} as one of the larger groups in {random.choice(places)}.",
    lambda p, a: f"Summarize the history of {a} migration to {random.choice(places)}.",
    lambda p, a: f"What holidays do {p} celebrate in the spring?",
    lambda p, a: f"Which languages do {p} in {random.choice(places)} speak at home?",
    lambda p, a: f"My grandmother told me stories about {a} life in {random.choice(centuries)}.",
    lambda p, a: f"Is there a good book about {p} in {random.choice(centuries)}?",
    lambda p, a: f"The article describes how {p} in {random.choice(places)} organised their first newspaper.",
    lambda p, a: f"What should a visitor know before attending a {a} wedding?",
]
archaic = [
    lambda g: f"And {g} came up to {random.choice(old_places)} in those days.",
    lambda g: f"Then {g} gathered together, and they went into {random.choice(old_places)}.",
    lambda g: f"And it came to pass, that {g} dwelt in {random.choice(old_places)} many days.",
    lambda g: f"And he spake unto {g}, saying, Peace be unto you.",
    lambda g: f"Now {g} and {random.choice(old_groups)} were in {random.choice(old_places)}.",
    lambda g: f"And the elders of {g} sat in the gate of {random.choice(old_places)}.",
    lambda g: f"For {g} kept the feast in {random.choice(old_places)}, as it is written.",
    lambda g: f"And there was a great company of {g}, and they brought their offerings.",
]

rows, seen = [], set()
while len(rows) < 600:
    if random.random() < 0.7:
        plural, adjective = random.choice(groups)
        text = random.choice(modern)(plural, adjective)
    else:
        text = random.choice(archaic)(random.choice(old_groups))
    if text in seen:
        continue
    seen.add(text)
    rows.append(text)

with open(os.path.join(here, "identity_mentions_train.jsonl"), "w", encoding="utf-8") as f:
    for i, text in enumerate(rows):
        f.write(json.dumps({"id": f"identity_mentions_train:{i}", "text": text, "label": 0, "label_name": "benign",
                            "split": "train", "meta": {"source": "templates written for DaprLlm"}}) + "\n")
print(f"{len(rows)} rows")
