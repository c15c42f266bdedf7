"""book: Markdown articles → valid, navigable, accessible EPUB 3 books."""

__version__ = "0.1.0"

from .build import BuildResult, build  # noqa: E402
from .errors import BookError  # noqa: E402

__all__ = ["BookError", "BuildResult", "build", "__version__"]
