"""Writes the KJV word list that the demo model's text-quality test checks words against.

The words come from the same public-domain text the demo model was trained on: Debian's bible-kjv, printed verse by
verse with `bible -f Gen1:1-Rev22:21` and split into verses as kjv_verses.load_verses does. A word is a run of ASCII
letters, optionally with a possessive 's (king's); it is listed lowercased without the 's, one per line, sorted.
The test (tests/DaprLlm.Inference.Tests/DemoModelTextTests.cs) splits text into words the same way.
"""
import argparse
import re

from kjv_verses import load_verses

WORD = re.compile(r"[A-Za-z]+(?:'s)?")


def key(word):
    word = word.lower()
    return word[:-2] if word.endswith("'s") else word


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    verses = load_verses()
    words = sorted({key(w) for v in verses for w in WORD.findall(v)})
    with open(args.out, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(words) + "\n")
    print(f"{len(verses)} verses, {len(words)} distinct words -> {args.out}")
