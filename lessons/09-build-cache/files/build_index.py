# Stands in for a slow step, like installing dependencies: it only depends on words.txt.
import json

with open("words.txt") as f:
    words = sorted(w.strip() for w in f if w.strip())
with open("index.json", "w") as f:
    json.dump({w: len(w) for w in words}, f, indent=1)
print(f"indexed {len(words)} words")
