"""The documentation holds together: the README is a landing page whose promises stay put, and
every relative link in it and in docs/ leads to a file (and to a heading, when it names one).

Pure file reading: no runner, no store.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"
MAX_README_LINES = 260
# The README's two promises to a newcomer, word for word: the default experiment and the tests.
SETUP_COMMANDS = (
    "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
    " && .venv/bin/python src/runner.py",
    "python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt && .venv/bin/pytest",
)
# Pages written on other branches of this release and linked before they land here. The lead
# removes this allow-list when merging; from then on a missing page fails like any other.
PAGES_WRITTEN_ELSEWHERE: frozenset[str] = frozenset()

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]  # http:, mailto:, ...


def anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda code: code.group(0).strip("`"), heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor(h) for h in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8")))}


def test_the_link_helpers_find_links_and_anchors(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Reuse and pins\n## Two runners at once\n## The `[Sweep]` table\n"
                    "[a](other.md#x) [web](https://example.org) `[code](not-a-link.md)`\n"
                    "```\n[fenced](not-a-link-either.md)\n# not a heading\n```\n")
    assert relative_links(page) == ["other.md#x"]
    assert anchors(page) == {"reuse-and-pins", "two-runners-at-once", "the-sweep-table"}


def test_every_relative_link_leads_to_a_file_and_heading() -> None:
    broken = []
    for page in markdown_files():
        for target in relative_links(page):
            path, _, fragment = target.partition("#")
            destination = (page.parent / path).resolve() if path else page
            name = destination.relative_to(REPO).as_posix() if destination.is_relative_to(
                REPO) else str(destination)
            if name in PAGES_WRITTEN_ELSEWHERE:
                continue
            where = f"{page.relative_to(REPO)}: ({target})"
            if not destination.exists():
                broken.append(f"{where} -> no file {name}")
            elif fragment and destination.suffix == ".md" and fragment not in anchors(
                    destination):
                broken.append(f"{where} -> no heading #{fragment} in {name}")
    assert not broken, "\n".join(broken)


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = {(REPO / target.partition("#")[0]).resolve() for target in relative_links(README)}
    unlinked = [page.name for page in DOCS.glob("*.md") if page.resolve() not in linked]
    assert not unlinked, f"README.md does not link docs/{', docs/'.join(unlinked)}"
    for name in PAGES_WRITTEN_ELSEWHERE:
        assert (REPO / name).resolve() in linked, f"README.md does not link {name}"


def test_the_readme_is_a_landing_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines (at most {MAX_README_LINES}): move detail to docs/")


def test_the_readme_keeps_the_two_setup_commands_in_a_fenced_block() -> None:
    text = README.read_text(encoding="utf-8")
    fenced = "\n".join(block.group(0) for block in FENCE.finditer(text))
    for command in SETUP_COMMANDS:
        assert any(line.strip() == command for line in fenced.splitlines()), (
            f"README.md lacks this set-up command in a fenced block: {command}")


# A test the docs name in a code span: a path under tests/, or a bare file name.
TEST_NAMED = re.compile(r"`((?:tests/(?:[\w.-]+/)*)?test_\w+\.py)`")


def test_every_test_the_docs_name_exists() -> None:
    """Tests move between layers (tests/unit/<layer>/, e2e, services); the docs follow."""
    found = {path.name: path for path in (REPO / "tests").rglob("test_*.py")}
    wrong = []
    for page in markdown_files():
        for name in TEST_NAMED.findall(page.read_text(encoding="utf-8")):
            exists = (REPO / name).is_file() if "/" in name else name in found
            if not exists:
                where = found.get(Path(name).name)
                hint = f" (it is {where.relative_to(REPO)})" if where else ""
                wrong.append(f"{page.relative_to(REPO)}: {name}{hint}")
    assert not wrong, "\n".join(wrong)


# An engine module named in prose: ``framework/store/index.py`` or ``framework.store.index``
# (a dotted name may go on to a function: ``framework.core.secrets.redact``).
MODULE_PATH = re.compile(r"\bframework/[\w/]+\.py\b")
MODULE_DOTTED = re.compile(r"``(framework(?:\.\w+)+)``")


def named_module_exists(reference: str) -> bool:
    """True when ``reference`` (a path or a dotted name, maybe ending in an attribute) names a
    module or package under src/."""
    if "/" in reference:
        return (REPO / "src" / reference).is_file()
    parts = reference.split(".")
    for end in range(len(parts), 0, -1):  # the longest prefix that is a module
        path = REPO / "src" / Path(*parts[:end])
        if path.with_suffix(".py").is_file():
            return end >= len(parts) - 1  # at most one attribute (a function) after a module
        if (path / "__init__.py").is_file():
            return end == len(parts)  # a package's attribute would be a module it lacks
    return False


def test_named_module_exists_tells_modules_from_stale_names() -> None:
    assert named_module_exists("framework/store/index.py")
    assert named_module_exists("framework.core.secrets.redact")
    assert named_module_exists("framework.outputs")
    assert not named_module_exists("framework/claims.py")  # before the layering
    assert not named_module_exists("framework.remote")


def test_every_engine_module_the_code_and_docs_name_exists() -> None:
    """Modules move between layers; the docstrings, comments and pages that name them follow."""
    pages = [*markdown_files(), *(REPO / "src").rglob("*.py"), *(REPO / "tests").rglob("*.py")]
    wrong = [f"{page.relative_to(REPO)}: {reference}"
             for page in pages if page != Path(__file__)
             for pattern in (MODULE_PATH, MODULE_DOTTED)
             for reference in pattern.findall(page.read_text(encoding="utf-8"))
             if not named_module_exists(reference)]
    assert not wrong, "\n".join(wrong)
