# The "build step" of the app: renders the pages the server will serve.
import pathlib

pages = {"index.html": "<h1>Layerlab notes</h1><p>Images are built; containers run.</p>"}
out = pathlib.Path("public")
out.mkdir(exist_ok=True)
for name, body in pages.items():
    (out / name).write_text(f"<!doctype html><title>notes</title>{body}\n")
print(f"rendered {len(pages)} page(s)")
