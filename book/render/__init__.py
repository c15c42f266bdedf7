"""Step 2 of a build: each chapter's Markdown → XHTML parts ready to package.

- book.render.markdown — Markdown → HTML text (Python-Markdown, run faster, same output)
- book.render.tree     — the HTML as a plain lxml tree
- book.render.passes   — the passes over that tree, by name (sanitize, images, footnotes,
                         semantics, rules, split), and the parts they make
- book.render.sanitize, book.render.images — what the `sanitize` and `images` passes use
- book.render.chapters — every chapter of a book: in parallel processes, through the cache
"""
