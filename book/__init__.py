"""book: Markdown articles → valid, navigable, accessible EPUB 3 books.

The library is the product; the command line (``book.cli``) is one user of it::

    import book

    result = book.build("article.md", "out.epub", book.BuildOptions(strict=True))
    report = book.check("out.epub")
    outcomes = book.build_many(["a.md", "b.md"], "dist/", book.BuildOptions(), executor=None)

Importing `book` never loads the command line, and loads nothing else either: each name below
is imported the first time it is used (PEP 562, module `__getattr__`), so `book --version`, or a
program that only builds, does not pay for the checkers, the batch runner or their libraries.
"""

import sys
import types

__version__ = "0.2.2"

__all__ = ["BookError", "BuildOptions", "BuildResult", "CheckReport", "Outcome", "Problem", "RenderStats",
           "__version__", "build", "build_many", "check"]


def __getattr__(name: str):
    # The imports are spelt out (not importlib strings) so that tests/test_library.py, which reads
    # every import statement of the library, sees what this module loads.
    if name in ("Outcome", "build_many"):
        from .batch import Outcome, build_many

        found = {"Outcome": Outcome, "build_many": build_many}
    elif name in ("BuildResult", "build"):
        from .build import BuildResult, build

        found = {"BuildResult": BuildResult, "build": build}
    elif name in ("CheckReport", "check"):
        from .check import CheckReport, check

        found = {"CheckReport": CheckReport, "check": check}
    elif name in ("BookError", "Problem"):
        from .errors import BookError, Problem

        found = {"BookError": BookError, "Problem": Problem}
    elif name in ("BuildOptions", "RenderStats"):
        from .options import BuildOptions, RenderStats

        found = {"BuildOptions": BuildOptions, "RenderStats": RenderStats}
    else:
        # `import book; book.errors.EXIT_OK`: the package's modules, as when they were all loaded
        # with it — but never the command line (`import book.cli` for that).
        import importlib.util

        if name.startswith("_") or name == "cli" or importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return importlib.import_module(f"{__name__}.{name}")
    globals().update(found)  # once loaded, a plain attribute
    return found[name]


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """`book` itself.  When Python first imports a submodule it sets the package's attribute of
    that name to the module (the import system's `setattr(parent, child, module)`), so the first
    import of `book.build` or `book.check` — by `book.batch`, the command line or a user's
    ``from book.build import slugify`` — would make `book.build` the module instead of the
    function.  The functions keep their names, as they did when this package imported them
    eagerly; the modules stay in `sys.modules` for ``from book.build import ...``."""

    def __setattr__(self, name, value):
        if name in ("build", "check") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
