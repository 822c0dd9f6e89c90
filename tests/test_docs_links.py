"""The documentation stands alone (issue 18, point 8): every relative link in README.md and
docs/*.md leads to a file that exists (and to a heading that exists, when it names one), and
every ``docs/<page>.md §N`` a comment cites is a numbered section of that page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE_DIRS = ("src", "tests", "bench", "scripts")

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
MENTION = re.compile(r"\bdocs/([\w.-]+\.md)")
CITATION = re.compile(r"\bdocs/([\w-]+\.md)\s*((?:§\s*\d+(?:\.\d+)*(?:\s*,\s*)?)+)")
BARE = re.compile(r"§\s*(\d+(?:\.\d+)*)")
#: Documents outside the repository that comments must not cite (the repository stands alone).
OUTSIDE = re.compile(r"\bDESIGN(?: section| §)|\bSTYLE \d|\breference §|shared/reference")


def _prose(text: str) -> str:
    """The page without fenced code blocks and code spans (examples are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        anchors.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return anchors


def _broken_links(page: Path) -> list[str]:
    broken: list[str] = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
            broken.append(f"{target}: no heading #{fragment} in {dest.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    assert _broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_docs_page_named_in_prose_exists(page: Path) -> None:
    named = set(MENTION.findall(page.read_text(encoding="utf-8")))
    assert sorted(n for n in named if not (ROOT / "docs" / n).exists()) == []


def test_the_readme_links_every_docs_page() -> None:
    readme = _prose((ROOT / "README.md").read_text(encoding="utf-8"))
    page_links = set(re.findall(r"\]\(docs/([\w.-]+\.md)", readme))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert sorted(pages - page_links) == []


def _numbered_sections(page: Path) -> set[str]:
    numbers: set[str] = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#{1,6}\s+(\d+(?:\.\d+)*)[.\s]", line)
        if match:
            numbers.add(match.group(1))
    return numbers


def _code_files() -> list[Path]:
    files: list[Path] = []
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if path.suffix in (".py", ".sh", ".js", ".toml", ".ini", ".cfg") and "vendor" not in (
                path.parts
            ):
                files.append(path)
    return files


def test_comments_cite_sections_that_exist() -> None:
    wrong: list[str] = []
    for path in _code_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for page, sections in CITATION.findall(text):
            doc = ROOT / "docs" / page
            if not doc.exists():
                wrong.append(f"{path.relative_to(ROOT)}: docs/{page} does not exist")
                continue
            have = _numbered_sections(doc)
            for number in re.findall(r"\d+(?:\.\d+)*", sections):
                if number not in have:
                    wrong.append(f"{path.relative_to(ROOT)}: docs/{page} has no §{number}")
        named = [ROOT / "docs" / page for page in MENTION.findall(text)]
        for doc in named:
            if not doc.exists():
                wrong.append(f"{path.relative_to(ROOT)}: {doc.relative_to(ROOT)} does not exist")
        # A bare "§N" cites a page the same file names (its docstring's citation).
        bare = set(BARE.findall(text))
        known = set().union(*(_numbered_sections(d) for d in named if d.exists()))
        if bare and not named:
            wrong.append(f"{path.relative_to(ROOT)}: cites §{sorted(bare)} of no docs page")
        elif bare - known:
            wrong.append(f"{path.relative_to(ROOT)}: no §{sorted(bare - known)} in {named}")
    assert wrong == []


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _code_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line) and path.name != "test_docs_links.py"
    ]
    assert outside == []
