"""The README's commands run as written, as documentation tests do.

Every fenced ``sh`` and ``python`` block of README.md runs, in order, each from the root of a copy
of the repository in a temporary folder (the shape of a fresh clone after ``make demo`` / ``make
test``: the tracked files plus the ``.venv`` that those commands made). A block preceded by the
line ``<!-- readme: not run ... -->`` is skipped: the set-up commands themselves, servers that do
not stop, long benchmarks. Blocks added later are picked up without touching this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
SKIP = "<!-- readme: not run"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "demo-output", "my-workspace", "test-artefacts", "*cache*", "__pycache__"
)


def readme_blocks(text: str) -> list[tuple[str, str, bool]]:
    """(language, code, runs) for every fenced block, in order."""
    blocks = []
    for m in BLOCK.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        skipped = bool(before) and before[-1].strip().startswith(SKIP)
        blocks.append((m.group("lang"), m.group("body"), not skipped))
    return blocks


def test_block_parser_honours_the_marker() -> None:
    text = "a\n\n```sh\necho 1\n```\n<!-- readme: not run (server) -->\n```sh\nserve\n```\n"
    text += "```python\nprint(2)\n```\n```text\nnot code\n```\n"
    assert readme_blocks(text) == [
        ("sh", "echo 1\n", True),
        ("sh", "serve\n", False),
        ("python", "print(2)\n", True),
        ("text", "not code\n", True),
    ]


def test_readme_points_only_at_files_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README links to {target}, which is not in the repository"
    assert "../shared" not in text and "DESIGN.md" not in text


@pytest.mark.slow
def test_every_readme_block_runs_as_written(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=COPY_IGNORE)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    # a fresh shell: `corridor` is on PATH only if the block puts it there
    bindir = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bindir)
    env = {**os.environ, "PATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    for var in ("VIRTUAL_ENV", "CORRIDOR_WORKSPACE", "CORRIDOR_DB"):
        env.pop(var, None)
    ran = {"sh": 0, "python": 0}
    said = ""
    for n, (lang, code, runs) in enumerate(readme_blocks(README.read_text(encoding="utf-8"))):
        if not runs or lang not in ran:
            continue
        argv = (
            ["bash", "-e", "-o", "pipefail", "-c", code]
            if lang == "sh"
            else [str(clone / ".venv" / "bin" / "python"), "-c", code]
        )
        done = subprocess.run(argv, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (
            f"README block {n + 1} ({lang}) failed with exit {done.returncode}:\n{code}\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
        ran[lang] += 1
        said += done.stdout
    assert ran["sh"] >= 3 and ran["python"] >= 1
    # the walk-through ends with real results: indicators, a ranking and a report
    assert "first_95" in said and "third_95" in said
    assert "spaces of vulnerability" in said
    assert "ke-malaba-osbp" in said
    report = clone / "my-workspace" / "report.html"
    assert report.is_file() and report.stat().st_size > 50_000
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", "my-workspace/report.html"],
        cwd=ROOT,
        check=False,
    )
    assert ignored.returncode == 0, "the quick start's workspace is not ignored by git"
