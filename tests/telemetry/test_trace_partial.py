"""The console's trace partial (orchestrator/console/templates/trace.html), rendered over
the model of a trace recorded off the real stack, read back as an element tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from orchestrator.console.trace_view import PAGE_DEPTH, TraceView
from telemetry.jaeger import Span
from telemetry.trace_model import build_tree
from tests.support import REPO
from tests.telemetry.test_trace_model import recorded
from tests.telemetry.test_waterfall import SPANS, span

TEMPLATES = REPO / "orchestrator" / "console" / "templates"
VOID = {"link", "meta", "br", "img", "input", "hr", "rect"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return "".join([*self.text, *(child.all_text() for child in self.children)])

    def find_all(self, tag: str, cls: str | None = None) -> list[Element]:
        found = []
        for child in self.children:
            if child.tag == tag and (cls is None or cls in child.classes):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def direct(self, tag: str) -> list[Element]:
        return [child for child in self.children if child.tag == tag]

    def span_parent(self) -> Element | None:
        """The nearest enclosing <li class="span">."""
        node = self.parent
        while node is not None and not (node.tag == "li" and "span" in node.classes):
            node = node.parent
        return node


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Element("root", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        assert self.current.parent is not None
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.text.append(data)


def render(trace: TraceView) -> Element:
    # As the console's own environment: autoescape, strict about undefined names.
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = environment.get_template("trace.html").render(trace=trace)
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.current is builder.root, "unclosed elements"
    return builder.root


def found(spans: list[Span]) -> TraceView:
    tree = build_tree(spans, max_depth=PAGE_DEPTH)
    ids = tuple(tree.trace_ids)
    return TraceView(found=True, trace_id=ids[0], trace_ids=ids, tree=tree)


def test_the_span_tree_nests_opa_under_the_workers_http_span() -> None:
    page = render(found(recorded()))
    [section] = page.find_all("section")
    assert section.attrs["id"] == "trace"
    spans = section.find_all("li", "span")
    assert len(spans) == 14
    opa = [li for li in spans if li.attrs["data-service"] == "opa"]
    assert len(opa) == 2
    for li in opa:
        assert li.attrs["data-name"] == "POST /v1/data/{path...}"
        post = li.span_parent()
        assert post is not None
        assert (post.attrs["data-name"], post.attrs["data-service"]) == (
            "POST",
            "orchestrator-worker",
        )
        # Nested as the tree: <li> inside a <ul> inside the parent's <li>.
        assert li.parent is not None and li.parent.tag == "ul" and li.parent.parent is post
        decide = post.span_parent()
        assert decide is not None and decide.attrs["data-name"] == "RunActivity:policy.decide"
    [root] = section.find_all("ul", "trace-tree")[0].direct("li")
    assert root.attrs["data-name"] == "orchestrator start"


def test_each_span_shows_duration_bar_and_attributes_on_click() -> None:
    page = render(found(recorded()))
    decide = next(
        li
        for li in page.find_all("li", "span")
        if li.attrs["data-name"] == "RunActivity:policy.decide"
    )
    [details] = decide.direct("details")
    [summary] = details.direct("summary")
    assert summary.find_all("span", "span-duration")[0].all_text().endswith(" ms")
    [bar] = summary.find_all("rect", "span-bar")
    assert bar.attrs["x"].endswith("%") and bar.attrs["width"].endswith("%")
    assert 0 < float(bar.attrs["width"].rstrip("%")) <= 100
    terms = [dt.all_text() for dt in details.find_all("dt")]
    assert "orchestrator.policy.action" in terms and "temporalWorkflowID" in terms
    values = dict(zip(terms, (dd.all_text() for dd in details.find_all("dd")), strict=True))
    assert values["orchestrator.policy.action"] == "workflow.start"
    assert values["orchestrator.policy.allow"] == "true"
    # No inline style anywhere: the console's Content-Security-Policy would drop it.
    html = [e for e in page.find_all("section")[0].find_all("li") if "style" in e.attrs]
    assert html == []


def test_errors_are_marked_and_text_is_escaped() -> None:
    hostile = span(
        "e1",
        "<script>alert(1)</script>",
        None,
        0,
        5,
        status_code="error",
        status_message="<b>boom</b>",
        attributes={"note": "<img src=x onerror=alert(1)>"},
    )
    page = render(found([*SPANS, hostile]))
    assert not page.find_all("script") and not page.find_all("b") and not page.find_all("img")
    [li] = [li for li in page.find_all("li", "span") if li.attrs["data-span-id"] == "e1"]
    assert li.attrs["data-name"] == "<script>alert(1)</script>"
    assert "error" in li.classes
    assert "✗ error" in li.find_all("strong", "span-status")[0].all_text()
    assert li.find_all("p", "span-error")[0].all_text() == "<b>boom</b>"
    summary = page.find_all("p", "trace-summary")[0].all_text()
    assert "9 spans" in summary and "2 failed" in summary
    orphan = next(
        li for li in page.find_all("li", "span") if li.attrs["data-name"] == "late OPA span"
    )
    assert "orphan" in orphan.classes


def test_a_missing_trace_shows_why() -> None:
    page = render(TraceView(found=False, message="Jaeger at http://127.0.0.1:1 is down."))
    [section] = page.find_all("section")
    assert section.find_all("p", "trace-missing")[0].all_text() == (
        "Jaeger at http://127.0.0.1:1 is down."
    )
    assert not section.find_all("li")


def test_deep_traces_render() -> None:
    # Deeper than Jinja's recursive loop could nest: the page's depth limit folds it.
    chain = [span(f"c{i}", f"step {i}", f"c{i - 1}" if i else None, i, 1) for i in range(400)]
    view = found(chain)
    assert view.tree is not None and view.tree.folded
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )
    html = environment.get_template("trace.html").render(trace=view)
    assert html.count('<li class="span') == 400
    assert html.count('data-name="step 399"') == 1


def test_steps_roles_disagreements_and_refusals_are_shown() -> None:
    from tests.telemetry.golden_trace import SCHEDULED

    page = render(found(SCHEDULED))
    items = page.find_all("li", "span")
    summaries = [li.direct("details")[0].direct("summary")[0] for li in items]
    subjects = [
        e.all_text() for summary in summaries for e in summary.find_all("span", "span-subject")
    ]
    assert "· execution.blocks[2]" in subjects
    assert subjects.count("· enforcing") == 2 and subjects.count("· shadow") == 2
    notes = [note.all_text() for note in page.find_all("strong", "span-note")]
    assert notes == [
        "shadow disagrees: allow -> approval_required (risk: low -> high) [candidate 2026.12.02-1]"
    ]
    [refused] = [li for li in items if li.attrs["data-name"] == "HandleUpdate:approve"]
    assert "exception" in refused.classes
    assert refused.find_all("strong", "span-status")[0].all_text() == "! update refused"
    [completed] = [li for li in items if li.attrs["data-name"].startswith("CompleteWorkflow")]
    assert not completed.find_all("strong", "span-status")
