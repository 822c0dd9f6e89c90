#!/usr/bin/env bash
# Refresh docs/screenshots/: run the screenshot test, then copy its PNGs palette-reduced
# (ffmpeg palettegen/paletteuse, 128 colours) so the repository keeps small files.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pytest tests/e2e/test_docs_screenshots.py -q -p no:cacheprovider
mkdir -p docs/screenshots
for src in tests/e2e/screenshots/docs-*.png; do
  name=$(basename "$src" | sed 's/^docs-//')
  ffmpeg -hide_banner -loglevel error -y -i "$src" \
    -vf "split[a][b];[a]palettegen=max_colors=128[p];[b][p]paletteuse=dither=none" \
    "docs/screenshots/$name"
done
ls -l docs/screenshots
