#!/usr/bin/env bash
# Every relative link of README.md and docs/*.md points at a file that exists, and every
# #anchor at a heading of its file (GitHub's slugs: lower case, punctuation dropped,
# spaces as hyphens, -1, -2, ... for repeats). Links in code blocks and code spans are
# not links. Prints each broken link and fails; silent when all hold.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - README.md docs/*.md <<'PY'
import re, sys, os

def prose(text):
    """The text outside fenced code blocks, line by line (numbered), code spans removed."""
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        marker = re.match(r"^\s*(```|~~~)", line)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif fence == marker.group(1):
                fence = None
            continue
        if fence is None:
            yield number, re.sub(r"`[^`]*`", "", line)

def slugs(path):
    found, seen = set(), {}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fence = None
    for line in text.split("\n"):
        marker = re.match(r"^\s*(```|~~~)", line)
        if marker:
            fence = marker.group(1) if fence is None else (None if fence == marker.group(1) else fence)
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line) if fence is None else None
        if not heading:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
        title = re.sub(r"[`*~]|<[^>]*>", "", title)
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    return found

broken = 0
for source in sys.argv[1:]:
    with open(source, encoding="utf-8") as f:
        text = f.read()
    # Join each paragraph's lines so a link text may wrap.
    lines = list(prose(text))
    joined = "\n".join(line for _, line in lines)
    for match in re.finditer(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", joined):
        target = match.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:, ...
        line = lines[joined.count("\n", 0, match.start())][0]
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(source), path)) if path else source
        if not os.path.exists(resolved):
            print(f"{source}:{line}: {target}: no such file {resolved}")
            broken += 1
        elif anchor and (not resolved.endswith(".md") or anchor not in slugs(resolved)):
            print(f"{source}:{line}: {target}: no heading #{anchor} in {resolved}")
            broken += 1
sys.exit(1 if broken else 0)
PY
