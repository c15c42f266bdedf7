"""book: Markdown articles → valid, navigable, accessible EPUB 3 books.

The library is the product; the command line (``book.cli``) is one user of it::

    import book

    result = book.build("article.md", "out.epub", book.BuildOptions(strict=True))
    report = book.check("out.epub")
    outcomes = book.build_many(["a.md", "b.md"], "dist/", book.BuildOptions(), executor=None)

Importing `book` never loads the command line.
"""

__version__ = "0.2.0"

from .batch import Outcome, build_many  # noqa: E402
from .build import BuildResult, build  # noqa: E402
from .check import CheckReport, check  # noqa: E402
from .errors import BookError, Problem  # noqa: E402
from .options import BuildOptions, RenderStats  # noqa: E402

__all__ = ["BookError", "BuildOptions", "BuildResult", "CheckReport", "Outcome", "Problem", "RenderStats",
           "__version__", "build", "build_many", "check"]
