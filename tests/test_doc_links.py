"""Every relative link in README, CHANGELOG and docs/ resolves inside the repository (and its #anchor
names a heading of the target Markdown file)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")])
# [text](target) and [text]: target, outside code spans and fenced blocks.
INLINE = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _links(text: str) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    return INLINE.findall(text) + REFERENCE.findall(text)


def _anchors(markdown: Path) -> set[str]:
    """GitHub's heading slugs: lower case, punctuation dropped, spaces to hyphens."""
    slugs = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", markdown.read_text()), re.M):
        slugs.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return slugs


def _relative_links():
    for document in DOCUMENTS:
        for target in _links(document.read_text()):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:...
                continue
            yield pytest.param(document, target, id=f"{document.relative_to(ROOT)}->{target}")


@pytest.mark.parametrize(("document", "target"), list(_relative_links()))
def test_relative_link_resolves_inside_the_repository(document, target):
    path, _, anchor = target.partition("#")
    resolved = (document.parent / path).resolve() if path else document
    assert resolved.is_relative_to(ROOT), f"{target} points outside the repository"
    assert resolved.exists(), f"{document.name}: {target} does not exist"
    if anchor and resolved.suffix == ".md":
        assert anchor.lower() in _anchors(resolved), f"{document.name}: no heading #{anchor} in {path or 'itself'}"


def test_the_checker_sees_links():
    # A checker that parses nothing passes everything: README links to the contract and the docs.
    targets = [target for document, target in (p.values for p in _relative_links()) if document.name == "README.md"]
    assert "docs/API.md" in targets and "docs/operations.md" in targets


def test_the_checker_refuses_a_broken_link(tmp_path):
    assert _links("see [x](missing.md) and `[y](ignored.md)`") == ["missing.md"]
    assert _links("```\n[z](in-a-fence.md)\n```\n[w]: ref.md") == ["ref.md"]
