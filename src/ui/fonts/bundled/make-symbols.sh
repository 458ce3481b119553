#!/usr/bin/env bash
# Makes symbols.woff2 and symbols-wide.woff2 (committed): the few characters beyond Latin that the page
# draws (UI_SYMBOLS) or that Monaco measures when it starts (MONACO_MEASURES), cut from Debian's DejaVu Sans
# and GNU Unifont (both free to redistribute). The bundled Inter and JetBrains Mono only have Latin; without
# these, each such character sends Chromium to the installed fonts (fonts.ts says why that is slow).
# Needs python3-fonttools and python3-brotli; the fonts come from their .deb files, nothing is installed.
# Keep UI_SYMBOLS in step with the characters the UI's sources draw (fonts.ts lists the same ranges).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
UI_SYMBOLS='←→↔↗↵↺↻⇠≥⌘■▲▶▸▾●☀☰☾✓✕✗❚⟲'
MONACO_MEASURES='⸱ｍ￫'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download fonts-dejavu-core fonts-unifont >/dev/null 2>&1 && for deb in *.deb; do dpkg-deb -x "$deb" root; done)
subset() { /usr/bin/python3 -m fontTools.subset "$1" --text="$2" --flavor=woff2 --layout-features='' --no-hinting --desubroutinize --no-prune-unicode-ranges --output-file="$3"; }
subset "$work/root/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" "$UI_SYMBOLS" symbols.woff2
subset "$work/root/usr/share/fonts/opentype/unifont/unifont.otf" "$MONACO_MEASURES" symbols-wide.woff2
ls -l symbols.woff2 symbols-wide.woff2
