#!/usr/bin/env bash
# Writes tools/python/venv.txt and checkov.txt from venv.in and checkov.in: every
# dependency pinned, with the hashes of each of its files on PyPI (any platform, Python
# 3.11), as scripts/setup.sh installs them (pip --require-hashes). Run it after changing a
# pin in a .in file; commit both files. uv (pinned below) resolves; pip installs.
set -euo pipefail
cd "$(dirname "$0")/../.."
UV_VERSION=0.9.5
uv=.local/uv/bin/uv
if ! "$uv" --version 2>/dev/null | grep -q "$UV_VERSION"; then
  python3 -m venv .local/uv
  .local/uv/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
for name in venv checkov; do
  "$uv" pip compile --quiet --generate-hashes --universal --python-version 3.11 \
    "tools/python/$name.in" -o "tools/python/$name.txt"
done
