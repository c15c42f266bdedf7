"""Steps 4 to 7 of a build: lay out the book and write the EPUB.

- book.package.assemble    — the spine in reading order: cover, title page, disclaimer, contents, text
- book.package.documents   — the XHTML wrapper of every page, the navigation document, the NCX
- book.package.cover       — the typographic cover; book.package.styles — the default stylesheet
- book.package.l10n        — labels and dates of the generated pages, in the book's language
- book.package.a11y        — accessibility metadata computed from what the book contains
- book.package.conformance — the conformance claim, written only when earned
- book.package.writer      — the package document and the ZIP container (book.package.ocfzip),
                             through ebooklib, with its gaps fixed in one place
"""
