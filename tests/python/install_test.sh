#!/usr/bin/env bash
# The README's install of the Python client, in a fresh venv of Debian's
# python3 with no package index: it installs, imports, ships py.typed, and
# its Client refuses a bad URL (the package works, not only its files).
# Usage: install_test.sh clients/python
set -euo pipefail
src=$1
dir=$(mktemp -d /tmp/steadfast-pyinstall-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
/usr/bin/python3 -m venv v
v/bin/pip install --no-index --no-build-isolation "$src" >pip.log 2>&1 || { cat pip.log; exit 1; }
v/bin/python - <<'PY'
import importlib.resources, steadfast
assert steadfast.Client.__module__ == "steadfast.client", steadfast.Client.__module__
assert "site-packages" in steadfast.__file__, steadfast.__file__
assert importlib.resources.files("steadfast").joinpath("py.typed").is_file(), "py.typed missing"
try:
    steadfast.Client("ftp://x")
except ValueError as e:
    assert "url must be" in str(e), e
else:
    raise AssertionError("a bad URL was accepted")
print("python client install: ok")
PY
