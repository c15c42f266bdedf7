"""Issue 3: every build-time accessibility rule has a test that triggers it and one that does not."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from book import build
from book.errors import BuildFailed
from book.rules import CATALOGUE, ERROR


def _book(tmp_path, body: str, front: str = ""):
    src = tmp_path / "article.md"
    src.write_text(f"---\ntitle: Rules\nlang: en\n{front}---\n\n{body}\n", "utf-8")
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "pic.png")
    Image.new("RGB", (40, 30), (30, 30, 200)).save(tmp_path / "pic.webp", format="WEBP")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">{defs}'
           '<rect width="40" height="30" fill="{fill}"/></svg>')
    (tmp_path / "gradient.svg").write_text(svg.format(
        defs='<defs><linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" '
             'stop-color="blue"/></linearGradient></defs>', fill="url(#g)"), "utf-8")
    (tmp_path / "flat.svg").write_text(svg.format(defs="", fill="red"), "utf-8")
    return src


def _findings(tmp_path, body, strict=False, front=""):
    """Build and return (findings by rule id, the error raised or None)."""
    src = _book(tmp_path, body, front)
    try:
        result = build(src, tmp_path / "out.epub", strict=strict)
    except BuildFailed as e:
        return [str(p) for p in e.problems], e
    return [str(f) for f in result.findings], None


LONG_ALT = "A very detailed description " * 8
CASES = {
    # rule id: (markdown that triggers it, markdown that does not)
    "img-alt-missing": ("Text.\n\n![](pic.png)", "Text.\n\n![A red rectangle.](pic.png)"),
    "img-alt-filename": ("![pic.png](pic.png)", "![A red rectangle.](pic.png)"),
    "img-alt-placeholder": ("![Image](pic.png)", "![A red rectangle.](pic.png)"),
    "img-alt-long": (f"![{LONG_ALT}](pic.png)", "![A red rectangle.](pic.png)"),
    "img-format-webp": ("![A blue rectangle.](pic.webp)", "![A red rectangle.](pic.png)"),
    "svg-unsupported": ("![A band from red to blue.](gradient.svg)", "![A red band.](flat.svg)"),
    "heading-empty": ("# Title\n\ntext\n\n##\n\nmore", "# Title\n\ntext\n\n## Next\n\nmore"),
    "heading-skip": ("# One\n\ntext\n\n### Three\n\ntext", "# One\n\ntext\n\n## Two\n\ntext"),
    "link-empty": ("See [](https://example.org/).", "See [the example site](https://example.org/)."),
    "link-target-missing": ("# One\n\nSee [the missing part](#nowhere).", "# One\n\nSee [the start](#one)."),
    "link-vague": ("For more, [click here](https://example.org/).",
                   "For more, read [the guide to back pain](https://example.org/)."),
    "table-no-header": ("<table><tr><td>a</td><td>b</td></tr></table>",
                        "| A | B |\n|---|---|\n| a | b |"),
    "lang-invalid": ("Bonjour.\n{lang=fr_FR!}", "Bonjour.\n{lang=fr-FR}"),
    "id-duplicate": ("# One {#same}\n\ntext\n\n## Two {#same}\n\ntext", "# One {#a}\n\ntext\n\n## Two {#b}\n\ntext"),
    "footnote-unused": ("Text.\n\n[^1]: A note nobody cites.", "Text.[^1]\n\n[^1]: A cited note."),
    "html-removed": ("Text <script>alert(1)</script> more.", "Text <em>with emphasis</em> more."),
    "table-header-empty": ("| A |   | C |\n|---|---|---|\n| a | b | c |", "| A | B | C |\n|---|---|---|\n| a | b | c |"),
    # (markdown that triggers it, markdown that does not, the front matter of both)
    "page-order": ("One{page=3} two{page=2}.", "One{page=2} two{page=3}.", "page-source: none\n"),
    "page-source-missing": ("One{page=1} two.", "One two."),
}
FRONT = {rule: case[2] for rule, case in CASES.items() if len(case) > 2}


def test_every_rule_has_a_case():
    assert set(CASES) == set(CATALOGUE)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_triggers(tmp_path, rule_id):
    messages, error = _findings(tmp_path, CASES[rule_id][0], front=FRONT.get(rule_id, ""))
    hits = [m for m in messages if f"[{rule_id}]" in m]
    assert hits, f"{rule_id} did not fire: {messages}"
    # every message names the file and the line
    assert all(m.startswith("article.md:") or "/article.md:" in m for m in hits), hits
    assert ":" in hits[0].split(" ")[0]
    if CATALOGUE[rule_id].severity == ERROR:
        assert error is not None, f"{rule_id} is an error and must stop the build"
        assert not (tmp_path / "out.epub").exists()


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_quiet_on_good_input(tmp_path, rule_id):
    messages, error = _findings(tmp_path, CASES[rule_id][1], front=FRONT.get(rule_id, ""))
    assert not [m for m in messages if f"[{rule_id}]" in m], messages
    assert error is None and (tmp_path / "out.epub").is_file()


def test_missing_alt_names_file_line_and_fix(tmp_path):
    messages, error = _findings(tmp_path, "Intro.\n\nMore text.\n\n![](pic.png)\n")
    assert error is not None
    # front matter is 4 lines, a blank line, then the body: the image is on line 10
    assert re.match(r"^(.*/)?article\.md:10: error: \[img-alt-missing\]", messages[0]), messages[0]
    assert "{.decorative}" in messages[0] and "describe it" in messages[0]


def test_decorative_image_needs_no_alt(tmp_path):
    messages, error = _findings(tmp_path, "![](pic.png){.decorative}")
    assert error is None and not messages


def test_strict_turns_warnings_into_errors(tmp_path):
    messages, error = _findings(tmp_path, CASES["link-vague"][0])
    assert error is None and any("[link-vague]" in m for m in messages)
    messages, error = _findings(tmp_path, CASES["link-vague"][0], strict=True)
    assert error is not None and any("[link-vague]" in m for m in messages)


def test_readme_documents_every_rule():
    """The README's rule table is the catalogue, id by id, severity by severity."""
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (error|warning) \|", readme, re.M))
    assert rows == {r.id: r.severity for r in CATALOGUE.values()}
    for rule in CATALOGUE.values():
        assert f"| `{rule.id}` | {rule.severity} | {rule.wcag} | {rule.summary} |" in readme


def test_duplicate_ids_in_raw_html_name_their_own_lines(tmp_path):
    """Issue 15: `<hr id="bar">` three times was reported without a line."""
    messages, error = _findings(tmp_path, 'One.\n\n<hr id="bar">\n\nTwo.\n\n<hr id="bar">\n\nThree.\n\n<hr id="bar">\n')
    hits = [m for m in messages if "[id-duplicate]" in m]
    # front matter 4 lines + blank: the body starts on line 6; the hr lines are 8, 12 and 16
    assert [re.match(r"^(?:.*/)?article\.md:(\d+):", m).group(1) for m in hits] == ["12", "16"], hits


def test_alt_text_that_is_the_files_bare_name(tmp_path):
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "lalune.png")
    messages, _ = _findings(tmp_path, "![lalune](lalune.png)")
    assert any("[img-alt-filename]" in m for m in messages), messages
    messages, _ = _findings(tmp_path, "![The moon over the sea.](lalune.png)")
    assert not any("[img-alt-filename]" in m for m in messages), messages


def test_every_finding_names_a_line(tmp_path):
    """Findings in raw HTML name their line as findings in Markdown do."""
    warnings = ('<table><tr><td>a</td></tr></table>\n\n<table><tr><th>A</th><th></th></tr>'
                '<tr><td>1</td><td>2</td></tr></table>\n')
    errors = '<h2></h2>\n\n<p id="x">a</p>\n\n<p id="x">b</p>\n'
    for body, rules in ((warnings, {"table-no-header", "table-header-empty"}), (errors, {"heading-empty", "id-duplicate"})):
        messages, _ = _findings(tmp_path, body)
        assert {re.search(r"\[([a-z-]+)\]", m).group(1) for m in messages} == rules, messages
        assert all(re.match(r"^(?:.*/)?article\.md:\d+: ", m) for m in messages), messages


def test_long_alt_text_points_to_extended_descriptions(tmp_path):
    messages, _ = _findings(tmp_path, f"![{LONG_ALT}](pic.png)")
    assert any("[img-alt-long]" in m and "::: description" in m for m in messages), messages
