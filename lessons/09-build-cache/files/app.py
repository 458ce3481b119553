import json

index = json.load(open("index.json"))
print("version 1:", ", ".join(index))
