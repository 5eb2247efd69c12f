"""The documentation runs: every Python example in the guide, every ``symresp`` command in it.

Each page's fenced ```python blocks run in order in one namespace, inside a temporary working
directory that holds a copy of ``derivations/`` (the examples are written to be run from the
repository root).  Lines of ```bash blocks that start with ``symresp `` go through
``symresp.cli.main`` and must return 0; they run in document order with the page's Python
blocks, in the same directory.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
# pages whose examples run: the user guide, the home page and the README's tour
PAGES = sorted(DOCS.glob("guide/*.md")) + [DOCS / "index.md", ROOT / "README.md"]
FORBIDDEN = ("THEORY", "FIELD-NOTES", "issue #")


def blocks(page: Path):
    """(language, code) of every fenced block of a page, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text(encoding="utf-8"))]


def symresp_commands(code: str):
    """The ``symresp ...`` command lines of a bash block (backslash continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", code)
    return [line.strip() for line in text.splitlines() if line.strip().startswith("symresp ")]


def runnable(page: Path) -> bool:
    return any(
        lang == "python" or (lang == "bash" and symresp_commands(code))
        for lang, code in blocks(page)
    )


def test_pages_exist():
    assert (DOCS / "guide").is_dir() and len(PAGES) > 3
    assert all(p.exists() for p in PAGES)
    assert sum(runnable(p) for p in PAGES) >= 5


@pytest.mark.parametrize(
    "page", [p for p in PAGES if runnable(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_page_examples_run(page, tmp_path, monkeypatch, capsys):
    from symresp.cli import main

    shutil.copytree(ROOT / "derivations", tmp_path / "derivations")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    for number, (lang, code) in enumerate(blocks(page), 1):
        where = f"{page.relative_to(ROOT)}, block {number}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)
        elif lang == "bash":
            for line in symresp_commands(code):
                argv = shlex.split(line)[1:]
                rc = main(argv)
                err = capsys.readouterr().err
                assert rc == 0, f"{where}: `{line}` exited {rc}: {err}"


def _text_files():
    files = [ROOT / "README.md", ROOT / "mkdocs.yml"]
    for folder in ("docs", "symresp"):
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
            and "__pycache__" not in p.parts
            and p.suffix in (".md", ".py", ".js", ".css", ".toml", ".txt", ".yml", ".html")
        ]
    return files


def test_no_internal_references():
    """Users have neither the team's notes nor its issue tracker: the shipped text names neither."""
    offenders = []
    for path in _text_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # "THEORY" and "FIELD-NOTES" as written (the Theory pages are fine); "issue #" in any case
            hits = [
                w for w in FORBIDDEN if (w.lower() in line.lower() if w == "issue #" else w in line)
            ]
            if hits:
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {', '.join(hits)}")
    assert not offenders, "internal references in shipped text:\n" + "\n".join(offenders)
