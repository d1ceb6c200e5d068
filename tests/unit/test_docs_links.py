"""The links of README.md and docs/*.md as a reader follows them: each reaches what it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target), not images' alt text in `![...]`, which names no file.
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")
# Text that reads as a file a reader expects to open: a path with an extension.
FILE_TEXT = re.compile(r"^`?([\w.\-/]+\.[A-Za-z0-9]+)`?$")


def anchors(document: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces `-`."""
    found = set()
    for line in document.read_text().splitlines():
        if match := re.match(r"^#{1,6}\s+(.*?)\s*#*$", line):
            title = re.sub(r"[`*_]{2,}|`", "", match.group(1)).lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def links() -> list[tuple[str, str, str]]:
    return [
        (str(document.relative_to(ROOT)), text, target)
        for document in DOCUMENTS
        for text, target in LINK.findall(document.read_text())
        if not re.match(r"^[a-z]+:", target)  # http(s), mailto: another site's business
    ]


@pytest.mark.parametrize(("document", "text", "target"), links())
def test_a_link_reaches_the_file_and_heading_it_names(
    document: str, text: str, target: str
) -> None:
    path, _, anchor = target.partition("#")
    file = (ROOT / document).parent / path if path else ROOT / document
    assert file.exists(), f"{document}: [{text}]({target}): no {path}"
    if anchor:
        assert anchor in anchors(file), f"{document}: [{text}]({target}): no heading #{anchor}"
    if named := FILE_TEXT.match(text):
        # The text promises a file: the link must open that file, not its neighbour.
        assert file.resolve() == ((ROOT / document).parent / named.group(1)).resolve(), (
            f"{document}: the link text {text!r} names another file than its target {target!r}"
        )


def test_the_documents_have_links_to_check() -> None:
    assert len(links()) > 10
