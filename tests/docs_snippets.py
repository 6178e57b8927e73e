#!/usr/bin/env python3
"""The code snippets of the docs come from the examples, which the test command builds and
runs: every block marked `<!-- snippet:FILE:NAME -->` in the given Markdown files must be,
line for line (after removing the common indentation), the region between
`// [snippet:NAME]` and `// [end]` in FILE. Exits 1 naming each block that differs."""
import pathlib
import re
import sys


def dedent(lines):
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return [l[indent:] for l in lines]


def region(path, name):
    lines = path.read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == f"// [snippet:{name}]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "// [end]")
    return dedent(lines[start + 1:end])


def main(root, docs):
    root = pathlib.Path(root)
    bad = 0
    blocks = 0
    for doc in docs:
        text = (root / doc).read_text().splitlines()
        for i, line in enumerate(text):
            m = re.match(r"<!-- snippet:([^:]+):([\w-]+) -->", line.strip())
            if not m:
                continue
            blocks += 1
            fence = i + 1
            if not text[fence].startswith("```"):
                print(f"{doc}:{i + 1}: a snippet marker must be followed by a code block")
                bad += 1
                continue
            end = next(j for j in range(fence + 1, len(text)) if text[j].startswith("```"))
            shown = dedent(text[fence + 1:end])
            want = region(root / m.group(1), m.group(2))
            if shown != want:
                print(f"{doc}:{i + 1}: the snippet differs from {m.group(1)} [{m.group(2)}]")
                bad += 1
    if blocks == 0:
        print("no snippet markers found")
        return 1
    print(f"{blocks} snippets checked, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
