#!/bin/bash
# Old and new side by side: bench/relay.py alternating (old, new, old, new, ...) on a noisy host.
#   OLD_SRC=/tmp/old/src bench/relay_ab.sh OUT.jsonl ROUNDS [bench/relay.py options]
# OLD_SRC: an export of the old commit's src/ (git archive <commit> src | tar -x -C /tmp/old);
# the same bench file drives both, the old code coming first on PYTHONPATH. Each run's stderr
# goes to OUT.err (a failing run stops the loop: its traceback is there).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; rounds=$2; shift 2
: > "$out"; : > "$out.err"
for i in $(seq "$rounds"); do
  for version in old new; do
    path=""; [ "$version" = old ] && path="${OLD_SRC:?set OLD_SRC}"
    line=$(PYTHONPATH=$path timeout 400 .venv/bin/python bench/relay.py "$@" 2>>"$out.err" | tail -1)
    echo "{\"version\": \"$version\", \"round\": $i, \"result\": $line}" >> "$out"
  done
done
