#!/usr/bin/env bash
# The committed dashboard bundle (web/dist/, embedded in the binary) is what
# web/src/ builds to with the locked packages: rebuilt into a temporary
# folder, every file must be byte-identical. Fails with the fix when someone
# changed web/src/ (or the lockfile) without `npm run build`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/steadfast-webbuild-XXXXXX)
trap 'rm -rf "$out"' EXIT
bash "$root/scripts/web-deps.sh" >/dev/null
node "$root/web/build.mjs" --outdir "$out"
status=0
for f in "$out"/* "$root"/web/dist/*; do
  name=$(basename "$f")
  if ! cmp -s "$out/$name" "$root/web/dist/$name"; then
    echo "FAIL: web/dist/$name differs from a rebuild of web/src (or exists in one only)" >&2
    status=1
  fi
done
if ((status)); then
  echo "fix: (cd web && npm ci && npm run build) and commit web/dist/" >&2
  exit 1
fi
echo "ok: web/dist/ ($(ls "$out" | wc -l) files) is what web/src/ builds to"
