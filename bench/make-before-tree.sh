#!/usr/bin/env bash
# Prints the path of a throw-away copy of this work tree in which the three ingest-path files
# (src/pipeline/ingest.ts, src/http/webhook-app.ts, src/pipeline/uplink.ts) are taken from a git ref
# (default HEAD), for the benchmark's service-before target:
#   BENCH_BEFORE_ROOT=$(bash bench/make-before-tree.sh HEAD) BENCH_TARGETS=bare,direct,naive,service-before,service npm run bench
# Everything else (other src files, bench/, node_modules via a symlink) is the current tree, so the two services
# differ only in those files.
set -euo pipefail
ref="${1:-HEAD}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$(mktemp -d "${TMPDIR:-/tmp}/tpcc-before-XXXXXX")"
(cd "$root" && tar --exclude=./node_modules --exclude=./.git --exclude=./bench/results -cf - .) | tar -xf - -C "$dest"
ln -s "$root/node_modules" "$dest/node_modules"
for f in src/pipeline/ingest.ts src/http/webhook-app.ts src/pipeline/uplink.ts; do
  git -C "$root" show "$ref:$f" > "$dest/$f"
done
echo "$dest"
