"""Citations of rules ("S2.4") and API parts ("API §3"): every one names something that
exists, and the docs hook turns them into links (docs/hooks/citations.py). The built site
is checked in tests/test_docs_build.py."""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HOOK = DOCS / "hooks" / "citations.py"
LOGGER = "mkdocs.hooks.citations"


def _load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crossflow_docs_citations", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()
RULES: dict[str, str] = hook.read_rules((DOCS / hook.SEMANTICS_PAGE).read_text())


def _files(tmp_path: Path) -> Files:
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    return Files(
        [File(p, src_dir=str(DOCS), dest_dir=str(tmp_path), use_directory_urls=True) for p in pages]
    )


class _Build:
    """The hook's mkdocs events for one build, with pages given as rendered HTML."""

    def __init__(self, tmp_path: Path) -> None:
        self.files = _files(tmp_path)
        hook.on_files(self.files, None)

    def page(self, html: str, here: str = "reference/api.md") -> str:
        page = SimpleNamespace(file=self.files.get_file_from_path(here))
        result: str = hook.on_page_content(html, page, None, self.files)
        return result


def _render(html: str, tmp_path: Path, here: str = "reference/api.md") -> str:
    """The HTML of a page `here`, with `html` as its content, after the hook."""
    return _Build(tmp_path).page(html, here)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= 30]


def _link(href: str, text: str) -> str:
    return f'<a class="crossflow-citation" href="{href}" title="[^"]*">{re.escape(text)}</a>'


def test_a_rule_becomes_a_link_to_its_anchor(tmp_path: Path) -> None:
    """`S2.4` in a paragraph of another page becomes a link to `#s2-4` on the semantics
    page, with the rule's heading as its title; a whole section `S4` links to `#s4`."""
    out = _render("<p>Checked again (S2.4); see S4.</p>", tmp_path)
    assert re.fullmatch(
        rf"<p>Checked again \({_link('../../concepts/semantics/#s2-4', 'S2.4')}\); "
        rf"see {_link('../../concepts/semantics/#s4', 'S4')}.</p>",
        out,
    ), out
    assert 'title="S2.4 Reachability is checked after every disposal"' in out


def test_a_range_links_both_ends(tmp_path: Path) -> None:
    """A range, with an en dash or a hyphen, and with or without the second `S6.`, links
    each end to its own rule and keeps the dash as it was written."""
    out = _render("<p>S6.5–S6.7, S6.1-S6.3 and S6.5–7.</p>", tmp_path)
    sem = "../../concepts/semantics/"
    assert re.fullmatch(
        rf"<p>{_link(sem + '#s6-5', 'S6.5')}–{_link(sem + '#s6-7', 'S6.7')}, "
        rf"{_link(sem + '#s6-1', 'S6.1')}-{_link(sem + '#s6-3', 'S6.3')} and "
        rf"{_link(sem + '#s6-5', 'S6.5')}–{_link(sem + '#s6-7', '7')}.</p>",
        out,
    ), out


def test_citations_on_the_semantics_page_link_within_it(tmp_path: Path) -> None:
    """On the semantics page itself, a citation is a link to the anchor alone."""
    out = _render("<p>cleanup (S6)</p>", tmp_path, here=hook.SEMANTICS_PAGE)
    assert re.fullmatch(rf"<p>cleanup \({_link('#s6', 'S6')}\)</p>", out), out


def test_code_links_headings_and_attributes_are_left_alone(tmp_path: Path) -> None:
    """Citations inside `<code>`, `<pre>`, existing links, mkdocs-autorefs references and
    headings (with their permalinks) come out byte for byte as they went in."""
    html = (
        '<pre><code class="language-python"># S2.4 &amp; S6.1\nx = "S4"</code></pre>\n'
        "<p>Use <code>S2.4</code>, <a href='#x'>S2.4</a> and "
        '<autoref identifier="crossflow.Unreachable">S2.4</autoref>.</p>\n'
        '<h3 id="s2-4" title="S2.4">S2.4 Reachability<a class="headerlink" '
        'href="#s2-4" title="Permanent link">&para;</a></h3>\n'
        '<img alt="S2.4"/><br>\n'
    )
    out = _render(html, tmp_path)
    assert out == html


def test_api_citations_link_to_the_reference_section(tmp_path: Path) -> None:
    """`API §1` links to the Building section of the API reference, `API §10` to its
    section on inspecting a workflow, and a part with a page of its own (`API §11`, `API
    §7`) to the top of that page."""
    out = _render(
        "<p>(API §1) (API §10) (API §11) (API §7)</p>", tmp_path, here="tutorial/quickstart.md"
    )
    assert re.fullmatch(
        rf"<p>\({_link('../../reference/api/#building', 'API §1')}\) "
        rf"\({_link('../../reference/api/#inspecting-a-workflow', 'API §10')}\) "
        rf"\({_link('../../reference/testing/', 'API §11')}\) "
        rf"\({_link('../../reference/diagram/', 'API §7')}\)</p>",
        out,
    ), out


@pytest.mark.parametrize(
    ("html", "bad"),
    [
        ("<p>as S2.9 says</p>", "S2.9"),
        ("<p>in S12</p>", "S12"),
        ("<p>S6.5–S6.9</p>", "S6.5–S6.9"),
        ("<p>S2.4.1</p>", "S2.4.1"),
        ("<p>S6.3–S6.1</p>", "S6.3–S6.1"),
        ("<p>API §12</p>", "API §12"),
    ],
)
def test_an_unknown_citation_is_a_warning(
    html: str, bad: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A citation of a rule the semantics page does not state (or of an API part the hook
    does not know) is logged as a warning under `mkdocs.`, which fails
    `mkdocs build --strict`; it names the page and the citation, and stays unlinked."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        out = _render(html, tmp_path)
    warnings = _warnings(caplog)
    assert len(warnings) >= 1, out
    assert all(w.startswith("reference/api.md: ") and bad in w for w in warnings), warnings
    linked = re.findall(r'href="[^"#]*#([^"]*)"', out)
    assert all(anchor in RULES for anchor in linked), out


def test_an_unknown_citation_leaves_known_ones_linked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """In `S2.4 and S2.9`, S2.4 is still linked; only S2.9 is reported and left as text."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        out = _render("<p>S2.4 and S2.9</p>", tmp_path)
    assert re.fullmatch(rf"<p>{_link('../../concepts/semantics/#s2-4', 'S2.4')} and S2.9</p>", out)
    assert [w for w in _warnings(caplog) if "S2.9" in w] == _warnings(caplog) != []


def test_a_missing_link_target_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """When the section an `API §N` maps to is not on the built page (say its heading was
    renamed), the end of the build warns, naming the anchor and where to fix the map."""
    build = _Build(tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        build.page("<p>API §1 and API §3</p>", here="concepts/scopes-and-sessions.md")
        build.page('<h2 id="building">Building</h2>', here="reference/api.md")
        hook.on_post_build(None)
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "reference/api.md#sessions" in warnings[0]
    assert "concepts/scopes-and-sessions.md" in warnings[0]
    assert "API_SECTIONS" in warnings[0]


def test_a_heading_numbered_unlike_its_anchor_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rule heading whose number and anchor disagree would send citations to the wrong
    rule: reading the page warns."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        rules = hook.read_rules("## S2 Reachability {#s2}\n\n### S2.4 Checked {#s2-5}\n")
    assert rules == {"s2": "S2 Reachability", "s2-5": "S2.4 Checked"}
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "#s2-5" in warnings[0] and "#s2-4" in warnings[0]


def test_every_section_of_the_semantics_page_is_a_rule_in_order() -> None:
    """The semantics page states its rules in order: sections S1, S2, ... with their rules
    S<n>.1, S<n>.2, ... numbered without gaps, so a citation's number finds its rule."""
    expected: list[str] = []
    section = rule = 0
    for key in RULES:
        if "-" in key:
            rule += 1
            expected.append(f"s{section}-{rule}")
        else:
            section, rule = section + 1, 0
            expected.append(f"s{section}")
    assert list(RULES) == expected


def _cited_files() -> list[Path]:
    paths = [*(ROOT / "crossflow").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]
    paths += [*DOCS.rglob("*.md"), *DOCS.rglob("*.py")]
    paths += [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    return sorted(p for p in paths if p.is_file())


def test_every_cited_rule_exists() -> None:
    """Every rule number and API part cited anywhere in crossflow/ (docstrings, comments,
    messages), docs/ (code included), examples/, the README and the changelog is stated
    on the semantics page or mapped by the docs hook."""
    targets = hook.Targets(rules=RULES)
    bad: list[str] = []
    seen = 0
    for path in _cited_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for m in hook.CITATION.finditer(line):
                seen += 1
                _, problems = hook.resolve(m, targets)
                where = f"{path.relative_to(ROOT)}:{number}"
                bad.extend(f"{where}: {p}" for p in problems)
    assert seen > 100, f"only {seen} citations found: is the pattern still right?"
    assert not bad, "citations of rules that do not exist:\n" + "\n".join(bad)
