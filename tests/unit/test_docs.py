"""The documentation: a short front page that leads to the three guides, and no dead links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GUIDES = ("docs/user-guide.md", "docs/operations.md", "docs/architecture.md")
DOCUMENTS = sorted([README, *(ROOT / "docs").glob("*.md")])
# [text](target) and ![alt](target); a target ends at whitespace or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def _links(path: Path) -> list[str]:
    """Every link target in a Markdown file, code blocks and code spans aside."""
    return LINK.findall(CODE.sub("", path.read_text(encoding="utf-8")))


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = CODE.sub("", path.read_text(encoding="utf-8"))
    return {_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def test_readme_is_a_short_front_page_that_links_each_guide():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    links = _links(README)
    missing = [guide for guide in GUIDES if guide not in links]
    assert missing == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_that_exists(path):
    dead = []
    for target in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        heading_gone = (linked.exists() and anchor and linked.suffix == ".md"
                        and anchor not in _anchors(linked))
        if not linked.exists() or heading_gone:
            dead.append(target)
    assert dead == []


def test_the_code_layout_names_every_module():
    """docs/architecture.md lists every module under src/fitclub, one line each."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("\nsrc/fitclub/\n", 1)[1].split("```", 1)[0]
    listed = {line.split()[0] for line in block.splitlines() if line.strip()}
    package = ROOT / "src" / "fitclub"
    modules = {str(p.relative_to(package)) for p in package.rglob("*.py")
               if p.stat().st_size and "__pycache__" not in p.parts}
    assert sorted(modules - listed) == [], "modules missing from the code layout"
    assert sorted(name for name in listed - modules if name.endswith(".py")) == [], \
        "the code layout names modules that are gone"
