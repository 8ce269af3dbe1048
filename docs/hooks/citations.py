"""Make every citation of a rule in the rendered docs a link to that rule.

Docstrings and pages cite the rules of `concepts/semantics.md` by number: `S2.4` (one
rule), `S4` (a whole section), `S6.1-S6.3` (a range, with a hyphen or an en dash). They
cite a part of the public API as `API §3`. In the HTML of every page, the API reference
rendered from docstrings included, this hook turns each such citation into a link: a
rule to its anchor on the semantics page (`#s2-4`, `#s4`), an API part to the reference
section that documents it (`API_SECTIONS`). Text inside code, links, headings, scripts
and styles is left alone.

The rules are read from the anchors of the semantics page's headings (`{#s2-4}`). A
citation of a rule that is not there, of an API part missing from `API_SECTIONS`, or a
link target that the built page does not have, is logged as a warning, so
`mkdocs build --strict` fails on it.
"""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING, NamedTuple

from mkdocs.utils import get_relative_url

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.citations")

#: The page that states the rules, relative to the docs directory.
SEMANTICS_PAGE = "concepts/semantics.md"

#: Where `API §N` points: the page, the anchor of the section on it that documents that
#: part of the API (None: the top of the page, until such a section exists), and a label.
#: Update an entry when the reference grows a section for it.
API_SECTIONS: dict[int, tuple[str, str | None, str]] = {
    1: ("reference/api.md", "building", "Building a workflow"),
    2: ("reference/api.md", "running", "Running a workflow"),
    3: ("reference/api.md", "sessions", "Sessions"),
    4: ("reference/api.md", "cancellation-and-disposal-data", "Cancellation and disposal data"),
    5: ("reference/api.md", "buffers", "Buffers and synchronisation"),
    6: ("reference/api.md", "crossflow.CancellationPolicy", "Node cancellation policies"),
    7: ("reference/diagram.md", None, "Diagrams"),
    8: ("reference/api.md", "pictures-and-progress", "Seeing a workflow and its run"),
    9: ("reference/api.md", "running-elsewhere", "Running elsewhere"),
    10: ("reference/api.md", "inspecting-a-workflow", "Inspecting a workflow"),
    11: ("reference/testing.md", None, "Testing your workflows"),
}

#: A citation: `API §3`; or `S4`, `S2.4`, with an optional range end after a hyphen or an
#: en dash (`S6.5-S6.7`, `S6.5-7`, `S1-S3`). Not part of a longer word, number or path.
#: A number with a third level is matched too, to be reported: rules have two levels.
CITATION = re.compile(
    r"(?<![\w.§/#-])"
    r"(?:API\s§(?P<api>\d+)"
    r"|S(?P<sec>\d+)(?:\.(?P<rule>\d+))?(?P<deeper>(?:\.\d+)+)?"
    r"(?:(?P<dash>[\u2013-])(?:S(?P<sec2>\d+)(?:\.(?P<rule2>\d+))?|(?P<bare>\d+)))?"
    r")"
    r"(?![\w§]|\.\d)"
)

#: A heading of the semantics page that states a rule: `### S2.4 Title {#s2-4}`.
_RULE_HEADING = re.compile(
    r"^#{1,6}[ \t]+(?P<title>.*?)[ \t]*\{[^}]*#(?P<anchor>s\d+(?:-\d+)?)\b[^}]*\}[ \t]*$",
    re.MULTILINE,
)

# Elements whose text is never linked: code, existing links (and the cross-references
# that become links later), headings with their permalinks, and non-text content.
_SKIP = frozenset(
    {"a", "autoref", "code", "pre", "kbd", "samp", "script", "style", "textarea", "title"}
    | {f"h{n}" for n in range(1, 7)}
)


def anchor(section: int, rule: int | None = None) -> str:
    """The anchor of a rule (`s2-4`) or of a whole section (`s4`) on the semantics page."""
    return f"s{section}" if rule is None else f"s{section}-{rule}"


def read_rules(markdown: str) -> dict[str, str]:
    """The rules a semantics page states: anchor to heading text, in page order.

    A heading whose number does not match its anchor (`### S2.4 ... {#s2-5}`) is a
    warning: every citation of it would lead to the wrong rule.
    """
    rules: dict[str, str] = {}
    for m in _RULE_HEADING.finditer(markdown):
        title = m["title"].replace("`", "")
        number = re.match(r"S(\d+)(?:\.(\d+))?\b", title)
        expected = anchor(int(number[1]), int(number[2]) if number[2] else None) if number else None
        if expected != m["anchor"]:
            log.warning(
                "%s: the heading %r has the anchor #%s; a rule's heading starts with its "
                "number and has the anchor of that number (#%s)",
                SEMANTICS_PAGE,
                m["title"],
                m["anchor"],
                expected or "s<section>-<rule>",
            )
        rules[m["anchor"]] = title
    return rules


class Cited(NamedTuple):
    """One link that a citation becomes: its text, the page it points to and the anchor."""

    text: str
    page: str
    anchor: str | None
    title: str


class Targets(NamedTuple):
    """What citations link to.

    Attributes:
        rules: the anchors of the semantics page, to their heading text.
        semantics: the semantics page, relative to the docs directory.
        api: `API §N` to (page, anchor or None, label).
    """

    rules: Mapping[str, str]
    semantics: str = SEMANTICS_PAGE
    api: Mapping[int, tuple[str, str | None, str]] = API_SECTIONS


def resolve(m: re.Match[str], targets: Targets) -> tuple[list[Cited | str], list[str]]:
    """What the citation `m` becomes: links and the text between them, and its problems.

    The parts, concatenated, give back the text of the citation. A rule that does not
    exist stays text and is a problem.
    """
    if m["api"] is not None:
        n = int(m["api"])
        if n not in targets.api:
            known = ", ".join(f"§{k}" for k in sorted(targets.api))
            return [m[0]], [
                f"{m[0]} is not a part of the API that API_SECTIONS in docs/hooks/citations.py "
                f"maps to the reference (it maps {known})"
            ]
        page, anchor_, label = targets.api[n]
        return [Cited(m[0], page, anchor_, f"API reference: {label}")], []

    if m["deeper"]:
        return [m[0]], [f"{m[0]} is not a rule number: rules are numbered like S2.4"]
    sec, rule = int(m["sec"]), int(m["rule"]) if m["rule"] else None
    first = m[0][: m.start("dash") - m.start()] if m["dash"] else m[0]
    ends: list[tuple[str, int, int | None]] = [(first, sec, rule)]
    cited = [anchor(sec, rule)]
    if m["dash"]:
        if m["bare"] is not None:
            sec2, rule2 = (sec, int(m["bare"])) if rule is not None else (int(m["bare"]), None)
            text2 = m["bare"]
        else:
            sec2, rule2 = int(m["sec2"]), int(m["rule2"]) if m["rule2"] else None
            text2 = m[0][m.start("sec2") - m.start() - 1 :]
        ends.append((text2, sec2, rule2))
        if rule is not None and rule2 is not None and sec == sec2:
            cited = [anchor(sec, r) for r in range(rule, rule2 + 1)]
        elif rule is None and rule2 is None:
            cited = [anchor(s) for s in range(sec, sec2 + 1)]
        else:
            cited = [anchor(sec, rule), anchor(sec2, rule2)]
        if len(cited) < 2:
            return [m[0]], [f"{m[0]} is a range that ends before it starts"]

    missing = [a for a in cited if a not in targets.rules]
    problems = [
        f"{_number(a) if m[0] == _number(a) else f'{m[0]} cites {_number(a)}, which'} is not "
        f"a rule on {targets.semantics}: correct the number, or state the rule there"
        for a in missing
    ]
    parts: list[Cited | str] = []
    for i, (text, s, r) in enumerate(ends):
        if i:
            parts.append(m["dash"])
        a = anchor(s, r)
        if a in targets.rules:
            parts.append(Cited(text, targets.semantics, a, targets.rules[a]))
        else:
            parts.append(text)
    return parts, problems


def _number(anchor_: str) -> str:
    return "S" + anchor_[1:].replace("-", ".")


class _TextFinder(HTMLParser):
    """Finds the text that may be linked, and every `id` of a page."""

    def __init__(self) -> None:
        # keep character references apart from the text, so text is source text
        super().__init__(convert_charrefs=False)
        self.open: Counter[str] = Counter()
        self.ids: set[str] = set()
        self.texts: list[tuple[int, int, str]] = []  # (line, column, text)

    def _ids(self, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if k == "id" and v)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._ids(attrs)
        if tag in _SKIP:
            self.open[tag] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._ids(attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.open[tag] > 0:
            self.open[tag] -= 1

    def handle_data(self, data: str) -> None:
        if ("S" in data or "§" in data) and not any(self.open.values()):
            line, column = self.getpos()
            self.texts.append((line, column, data))


class Linked(NamedTuple):
    """A page with its citations linked.

    Attributes:
        html: the page's HTML.
        ids: every `id` in the page.
        links: the links made.
        problems: citations that could not be linked, each with where it is.
    """

    html: str
    ids: set[str]
    links: list[Cited]
    problems: list[str]


def link_citations(
    page_html: str, targets: Targets, *, url_of: Mapping[str, str], here: str
) -> Linked:
    """Link the citations in `page_html`, the HTML of the page `here` (docs-relative).

    `url_of` gives the site URL of each page a link may point to (`here` included).
    """
    finder = _TextFinder()
    finder.feed(page_html)
    finder.close()
    line_starts = [0, *(m.end() for m in re.finditer("\n", page_html))]

    out: list[str] = []
    done = 0
    links: list[Cited] = []
    problems: list[str] = []
    for line, column, text in finder.texts:
        start = line_starts[line - 1] + column
        for m in CITATION.finditer(text):
            parts, found = resolve(m, targets)
            problems.extend(f"{here}: {p}, in {_context(text, m)!r}" for p in found)
            out.append(page_html[done : start + m.start()])
            for part in parts:
                if isinstance(part, str):
                    out.append(part)
                    continue
                links.append(part)
                out.append(_link(part, url_of, here))
            done = start + m.end()
    out.append(page_html[done:])
    return Linked("".join(out), finder.ids, links, problems)


def _link(cited: Cited, url_of: Mapping[str, str], here: str) -> str:
    fragment = f"#{cited.anchor}" if cited.anchor else ""
    if cited.page == here:
        href = fragment or "#"
    else:
        href = get_relative_url(url_of[cited.page], url_of[here]) + fragment
    return (
        f'<a class="crossflow-citation" href="{html.escape(href)}" '
        f'title="{html.escape(cited.title)}">{cited.text}</a>'
    )


def _context(text: str, m: re.Match[str]) -> str:
    return " ".join(text[max(0, m.start() - 40) : m.end() + 40].split())


# --------------------------------------------------------------------------- mkdocs events


class _Build:
    """What one build has learned: the rules, and the links to check once it is done."""

    def __init__(self) -> None:
        self.targets = Targets(rules={})
        self.ids: dict[str, set[str]] = {}
        self.links: dict[tuple[str, str], set[str]] = {}  # (page, anchor) -> citing pages


_build = _Build()


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Read the rules from the semantics page, before any page is rendered."""
    global _build
    _build = _Build()
    file = files.get_file_from_path(SEMANTICS_PAGE)
    if file is None:
        log.warning("%s is missing: citations of rules cannot be linked", SEMANTICS_PAGE)
        return files
    _build.targets = Targets(rules=read_rules(file.content_string))
    return files


def on_page_content(html_: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Link the citations of one rendered page."""
    here = page.file.src_uri
    pages = {here, _build.targets.semantics, *(p for p, _, _ in _build.targets.api.values())}
    url_of = {}
    for src in pages:
        file = files.get_file_from_path(src)
        if file is not None:
            url_of[src] = file.url
    result = link_citations(html_, _build.targets, url_of=_Urls(url_of), here=here)
    for problem in result.problems:
        log.warning("%s", problem)
    _build.ids[here] = result.ids
    for cited in result.links:
        if cited.anchor is not None:
            _build.links.setdefault((cited.page, cited.anchor), set()).add(here)
    return result.html


def on_post_build(config: MkDocsConfig) -> None:
    """Check that every anchor a citation links to exists on the built page."""
    for (page, anchor_), citing in sorted(_build.links.items()):
        if anchor_ in _build.ids.get(page, ()):
            continue
        fix = (
            "update API_SECTIONS in docs/hooks/citations.py"
            if page != _build.targets.semantics
            else f"give the rule's heading on {page} the anchor {{#{anchor_}}}"
        )
        log.warning(
            "citations on %s link to %s#%s, which the built page does not have: %s",
            ", ".join(sorted(citing)),
            page,
            anchor_,
            fix,
        )


class _Urls(dict[str, str]):
    """Site URLs of pages; a page that is not part of the site is a warning, once."""

    def __missing__(self, page: str) -> str:
        log.warning("citations link to %s, which is not a page of the site", page)
        self[page] = page
        return page
