"""The documentation site builds without a single warning, and in the built site every
citation of a rule ("S2.4") or an API part ("API §3") is a link to it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

import crossflow as cf

ROOT = Path(__file__).resolve().parent.parent

# The rules of docs/concepts/semantics.md: section number -> how many numbered rules it
# has (S3 is a single rule, cited as a whole).
RULES_PER_SECTION = {1: 7, 2: 5, 3: 0, 4: 5, 5: 5, 6: 7, 7: 5, 8: 4, 9: 2, 10: 5, 11: 4}

# The citation pattern, written again here rather than taken from the docs hook, so that
# this test checks the hook instead of repeating it.
CITATION = re.compile(r"(?<![\w.§/#-])(?:API\s§\d+|S\d+(?:\.\d+)?)(?![\w§]|\.\d)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`mkdocs build --strict` run once for this module: its result and the site directory."""
    site_dir = tmp_path_factory.mktemp("docs") / "site"
    # The theme prints a banner about future versions unless told not to; it is
    # noise in a failure report.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site_dir)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, site_dir


def _page(site: tuple[subprocess.CompletedProcess[str], Path], path: str) -> str:
    result, site_dir = site
    page = site_dir / path
    assert page.is_file(), f"{path} was not built:\n{result.stderr}\n{result.stdout}"
    return page.read_text()


def test_docs_build_strict(site: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """`mkdocs build --strict` succeeds: every page, snippet, link, API entry and rule
    citation resolves."""
    result, _ = site
    assert result.returncode == 0, f"mkdocs build failed:\n{result.stderr}\n{result.stdout}"


def test_semantics_page_has_an_anchor_per_rule(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """Every rule S1.1 ... S11.4 has its anchor on the semantics page (`#s2-4`), and every
    section one for the whole section (`#s4`)."""
    ids = set(re.findall(r'\bid="([^"]+)"', _page(site, "concepts/semantics/index.html")))
    expected = {f"s{s}" for s in RULES_PER_SECTION}
    expected |= {f"s{s}-{r}" for s, n in RULES_PER_SECTION.items() for r in range(1, n + 1)}
    assert not expected - ids, f"anchors missing: {sorted(expected - ids)}"


def test_a_docstring_citation_links_to_its_rule(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """The rule cited in the summary of `ServiceFailed`'s docstring is, in the API
    reference rendered from it, a link to that rule's anchor on the semantics page."""
    summary = (cf.ServiceFailed.__doc__ or "").splitlines()[0]
    cited = re.search(r"\bS(\d+)\.(\d+)\b", summary)
    assert cited, f"pick another docstring for this test: {summary!r} cites no rule"
    html = _page(site, "reference/api/index.html")
    start = html.index('id="crossflow.ServiceFailed"')
    # from its heading to the next entry's heading
    entry = html[start : html.index('class="doc doc-heading"', html.index(">", start))]
    link = (
        rf'<a class="crossflow-citation" href="\.\./\.\./concepts/semantics/'
        rf'#s{cited[1]}-{cited[2]}"[^>]*>{re.escape(cited[0])}</a>'
    )
    assert re.search(link, entry), entry


class _Citations(HTMLParser):
    """The citations of a built page: plain text ones, and rule links, by where they are."""

    CODE = frozenset({"code", "pre"})
    NOT_TEXT = CODE | {"a", "script", "style", "title", "textarea"} | {f"h{n}" for n in range(1, 7)}

    def __init__(self) -> None:
        super().__init__()
        self.open: Counter[str] = Counter()
        self.plain: list[str] = []  # citations in running text that are not links
        self.in_code: list[str] = []  # citations in code
        self.links_in_code = 0
        self._link: str | None = None  # the anchor of the citation link being read
        self.mislinked: list[tuple[str, str]] = []  # (anchor, text) that do not match

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("class") == "crossflow-citation":
            self.links_in_code += any(self.open[t] for t in self.CODE)
            self._link = (a.get("href") or "").partition("#")[2]
        if tag in self.NOT_TEXT:
            self.open[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._link = None
        if self.open[tag] > 0:
            self.open[tag] -= 1

    def handle_data(self, data: str) -> None:
        if self._link is not None and re.fullmatch(r"s\d+(-\d+)?", self._link):
            number = "S" + self._link[1:].replace("-", ".")
            if data != number and not (data.isdigit() and number.endswith(f".{data}")):
                self.mislinked.append((self._link, data))
        found = CITATION.findall(data)
        if any(self.open[t] for t in self.CODE):
            self.in_code += found
        elif not any(self.open.values()):
            self.plain += found


def _built_pages(site: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, _Citations]:
    _, site_dir = site
    pages = {}
    for path in sorted(site_dir.rglob("*.html")):
        parser = _Citations()
        parser.feed(path.read_text())
        parser.close()
        pages[path.relative_to(site_dir).as_posix()] = parser
    assert pages, "no page was built"
    return pages


def test_every_citation_in_running_text_is_a_link(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """On every built page, no citation in running text is left as plain text, and every
    citation link leads to the rule it names (`S2.4` to `#s2-4`)."""
    pages = _built_pages(site)
    plain = {p: c.plain for p, c in pages.items() if c.plain}
    mislinked = {p: c.mislinked for p, c in pages.items() if c.mislinked}
    assert not plain, f"citations that are not links: {plain}"
    assert not mislinked, f"citation links to another rule than they name: {mislinked}"


def test_citations_in_code_are_left_alone(
    site: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """A citation inside code stays as it was: the semantics page shows `S2.4` as inline
    code, not as a link, and no page has a citation link inside `<code>` or `<pre>`."""
    pages = _built_pages(site)
    assert "S2.4" in pages["concepts/semantics/index.html"].in_code
    assert "<code>S2.4</code>" in _page(site, "concepts/semantics/index.html")
    assert {p: c.links_in_code for p, c in pages.items() if c.links_in_code} == {}
