"""Step 1 of a build: read the source — a Markdown file with YAML front matter, or a book
folder with ``book.yaml`` and its chapter files — and validate its metadata (book.source.metadata:
a frozen dataclass, every problem reported by key and line before any work starts)."""

from .reader import BOOK_YAML, Chapter, Source, display, load, read_text, resolve_inside
from .metadata import Metadata

__all__ = ["BOOK_YAML", "Chapter", "Metadata", "Source", "display", "load", "read_text", "resolve_inside"]
