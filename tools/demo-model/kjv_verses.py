"""The King James Bible as a list of verses, from Debian's `bible-kjv` (`bible -f Gen1:1-Rev22:21`).

Shared by train.py and make_word_list.py; kept free of torch so the word list builds without it.
"""
import re
import subprocess


def load_verses():
    text = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True).stdout
    verses = []
    for line in text.splitlines():
        m = re.match(r"^\S+?\d+:\d+ (.*)$", line)
        if m:
            verses.append(m.group(1).strip())
        elif line.strip() and verses:
            # A verse that wraps onto the next line.
            verses[-1] += " " + line.strip()
    return verses
