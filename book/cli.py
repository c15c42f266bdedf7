"""The command line: thin on purpose.  It parses arguments, calls the library, and turns a
:class:`book.errors.BookError` into one line per problem on stderr and its exit code."""

from __future__ import annotations

import argparse
import sys
import traceback

from . import __version__
from .errors import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, BookError

EPILOG = """\
exit status:
  0  the EPUB was written (build) / the book passed every check (check)
  1  the source has a problem: each is printed as file:line: what is wrong — how to fix it
  2  the command line is wrong
  3  check: the EPUB has errors or accessibility violations
  4  a checker (Java, EPUBCheck, DAISY Ace, Chromium) is missing or failed to run
  5  the EPUB could not be written (the output path is a folder or not writable)
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="book",
        description="Turn Markdown articles into valid, navigable, accessible EPUB 3 books.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"book {__version__}")
    p.add_argument("--debug", action="store_true", help="show a traceback for unexpected errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser(
        "build", help="build an EPUB from a Markdown file or a book folder",
        description="Build an EPUB 3 from SOURCE: a Markdown file with YAML front matter, or a folder "
                    "with book.yaml and the chapter files it lists. With no SOURCE, builds the sample "
                    "book in content/.",
        epilog="examples:\n  book build                          # content/ → dist/<title>.epub\n"
               "  book build article.md -o article.epub\n"
               "  book build my-book/ --strict        # warnings fail the build too\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("source", nargs="?", default="content", help="Markdown file or book folder (default: content)")
    b.add_argument("-o", "--output", metavar="OUT.epub", help="where to write the EPUB (default: dist/<slug-of-title>.epub)")
    b.add_argument("--strict", action="store_true", help="treat accessibility warnings as errors")
    b.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    b.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help
        return int(e.code or 0)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "build":
            return _build(args)
    except BookError as e:
        for problem in e.problems:
            print(f"book: {problem}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("book: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in book, not a problem with the input
        if getattr(args, "debug", False):
            traceback.print_exc()
        else:
            print(f"book: internal error: {type(e).__name__}: {e} — please report it; "
                  "run again with --debug for details", file=sys.stderr)
        return 70
    return EXIT_USAGE


def _build(args) -> int:
    from .build import build

    progress = None if args.quiet or not sys.stderr.isatty() else (lambda m: print(f"book: {m}", file=sys.stderr))
    result = build(args.source, args.output, strict=args.strict, progress=progress)
    if not args.quiet:
        for w in result.warnings:
            print(f"book: {w}", file=sys.stderr)
        print(f"wrote {result.output} ({result.documents} documents)")
    return EXIT_OK
