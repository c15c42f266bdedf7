"""What any author's Markdown needs to pass DAISY Ace (axe-core) that the Markdown cannot say.

* **Code blocks.**  A ``<pre>`` that scrolls sideways must be reachable by keyboard (WCAG
  2.1.1, axe `scrollable-region-focusable`): it gets ``tabindex="0"``, and a focusable region
  needs a name.  The name must differ from every other landmark's in the document (axe
  `landmark-unique`: two regions both called "Code" are two landmarks a screen-reader user
  cannot tell apart), so each block is numbered in its chapter — "Code example 3" — in the
  book's language.
* **An empty first header cell.**  ``|   | Men | Women |`` is how Markdown writes a table whose
  first column holds the rows' headers: the corner cell heads nothing.  As a ``th`` it is an
  empty header (axe `empty-table-header`, WCAG 1.3.1); WAI's tables tutorial ("Tables with two
  headers") makes the corner a ``td`` and the first cell of each row a ``th scope="row"``,
  which is what this does.  Any other empty header cell is the author's to fill: the rule
  `table-header-empty` (book.rules) reports it.
"""

from __future__ import annotations

from . import tree as htmltree

CODE_LABELS = {
    "en": "Code example {n}", "es": "Ejemplo de código {n}", "fr": "Exemple de code {n}",
    "de": "Codebeispiel {n}", "ar": "مثال برمجي {n}", "ja": "コード例 {n}",
}


def code_label(lang: str, n: int) -> str:
    """The name of the n-th code block, in the book's language (English for languages without
    a label here)."""
    primary = lang.split("-")[0].lower()
    return CODE_LABELS.get(primary, CODE_LABELS["en"]).format(n=n)


def name_code_blocks(tree, lang: str) -> None:
    for n, pre in enumerate(tree.iter("pre"), 1):
        label = code_label(lang, n)
        pre.set("tabindex", "0")
        pre.set("role", "region")
        pre.set("aria-label", label)


def _cells(row):
    return [c for c in row if isinstance(c.tag, str) and c.tag in ("th", "td")]


def pass_tables(tree, ctx) -> None:
    """Row headers for tables whose header row starts with an empty cell (see above)."""
    for table in tree.iter("table"):
        rows = [r for r in table.iter("tr")]
        if len(rows) < 2:
            continue
        head = _cells(rows[0])
        if len(head) < 2 or head[0].tag != "th" or htmltree.text_content(head[0]).strip() or len(head[0]):
            continue
        if any(c.tag != "th" or not htmltree.text_content(c).strip() for c in head[1:]):
            continue  # other empty header cells: table-header-empty asks the author
        head[0].tag = "td"
        for c in head[1:]:
            c.set("scope", "col")
        for row in rows[1:]:
            cells = _cells(row)
            if cells and cells[0].tag == "td" and htmltree.text_content(cells[0]).strip():
                cells[0].tag = "th"
                cells[0].set("scope", "row")
