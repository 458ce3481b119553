# A "build tool": needs Python to run, but its output is a plain HTML file.
import html

pages = ["images", "containers", "layers"]
items = "\n".join(f"  <li>{html.escape(p)}</li>" for p in pages)
print(f"<!doctype html>\n<title>Layerlab</title>\n<ul>\n{items}\n</ul>")
