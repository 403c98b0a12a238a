"""Write docs/indicators.md from the indicator registry (``--check``: fail when it differs).

Usage: ``.venv/bin/python scripts/gen_indicator_docs.py [--check]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corridor.indicators.docs import render_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "indicators.md"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="Exit 1 when the file is out of date.")
    args = ap.parse_args()
    text = render_markdown()
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
