"""The command line: thin on purpose.  It parses arguments, calls the library, and turns a
:class:`book.errors.BookError` into one line per problem on stderr and its exit code."""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import EXIT_OK, EXIT_USAGE, BookError, Problem, UsageError

EPILOG = """\
exit status:
  0  the EPUB was written (build) / the book passed every check (check)
  1  the source has a problem: each is printed as file:line: what is wrong — how to fix it
  2  the command line is wrong
  3  check: the EPUB has errors or accessibility violations
  4  a checker (Java, EPUBCheck, DAISY Ace, Chromium) is missing or failed to run
  5  the EPUB could not be written (the output path is a folder or not writable)
 70  an internal error (a bug in book): run again with --debug and report the traceback
book build --watch runs until Ctrl-C, then exits with the status of its last build.
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
               "  book build my-book/ --strict        # warnings fail the build too\n"
               "  book build a.md b.md articles/ -o out/  # one EPUB each, built in parallel\n"
               "  book build my-book/ --watch         # rebuild on every save\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("source", nargs="*", default=["content"],
                   help="Markdown file or book folder (default: content); several sources, or a folder of "
                        "Markdown articles without book.yaml, build one EPUB each")
    b.add_argument("-o", "--output", metavar="OUT.epub", help="where to write the EPUB (default: dist/<slug-of-title>.epub); "
                                                               "with several sources, a folder")
    b.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                   help="processes to use (default: one per CPU, for books big enough to gain from it)")
    b.add_argument("--no-cache", action="store_true",
                   help="render every chapter again (default: a book folder caches chapters in .cache/book)")
    b.add_argument("--strict", action="store_true", help="treat accessibility warnings as errors")
    b.add_argument("--read-aloud", action="store_true",
                   help="add EPUB 3 Media Overlays: every sentence narrated by offline text-to-speech "
                        "(eSpeak NG, or the engine in read-aloud.command) and highlighted as it is read")
    b.add_argument("--allow-remote-images", action="store_true",
                   help="download images given by http(s) address into the book (default: refuse them; "
                        "EPUB keeps every image inside the file)")
    b.add_argument("-w", "--watch", action="store_true",
                   help="stay running and build again each time a file of the book is saved; only what "
                        "changed is rendered again (Ctrl-C to stop)")
    b.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _debug_option(b)

    c = sub.add_parser(
        "check", help="check an EPUB with EPUBCheck, DAISY Ace and book's accessibility rules",
        description="Check any EPUB: validity (EPUBCheck), accessibility (DAISY Ace and book's own rules), "
                    "and print the accessibility statement a reading system would show, in the words of "
                    "the W3C Accessibility Metadata Display Guide.",
        epilog="examples:\n  book check dist/my-book.epub\n  book check my-book.epub --json > report.json\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("epub", metavar="BOOK.epub", help="the EPUB to check")
    c.add_argument("--json", action="store_true", help="print the whole report as JSON")
    c.add_argument("--no-ace", action="store_true", help="skip DAISY Ace (then the check cannot pass)")
    c.add_argument("--no-epubcheck", action="store_true", help="skip EPUBCheck (then the check cannot pass)")
    _debug_option(c)

    v = sub.add_parser(
        "preview", help="read a book in the browser, in the epub.js reading engine",
        description="Serve an EPUB (or build SOURCE first) with a reader page on 127.0.0.1 and open "
                    "it in the browser: a table of contents, next/previous page buttons and arrow "
                    "keys. Ctrl-C stops it. Needs the epub.js engine: in a clone, bash tests/e2e/install.sh "
                    "--no-calibre; elsewhere, npm install --prefix .tools/reader epubjs@0.3.93 jszip@3.10.1",
        epilog="examples:\n  book preview                        # builds content/, then serves it\n"
               "  book preview my-book/ --watch       # rebuilds on every save; the page follows\n"
               "  book preview dist/my-book.epub --no-open --port 8000",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("source", nargs="?", default="content",
                   help="an .epub file, or a Markdown file or book folder (default: content)")
    v.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: any free port)")
    v.add_argument("--no-open", action="store_true", help="print the URL only; do not open a browser")
    v.add_argument("-w", "--watch", action="store_true",
                   help="build the source again on every save; the open page reloads the book where it was")
    _debug_option(v)

    i = sub.add_parser(
        "import", help="turn a saved web page (or a folder of them) into a book folder",
        description="Import PAGE — a web page saved from a browser with its pictures beside it, a folder of "
                    "such pages (one chapter each, in name order), or an http(s) address with --allow-remote — "
                    "into FOLDER: book.yaml, one Markdown file per article, images/. The article is found in the "
                    "page; navigation, share and comment boxes, author cards, ads and forms are left out. "
                    "Pictures whose alt text is not a description are listed: describe them, then book build FOLDER.",
        epilog="examples:\n  book import saved/article.html -o my-book\n"
               "  book import saved-pages/ -o my-book --drop-spam --disclaimer disclaimer.md\n"
               "  book import https://example.org/post --allow-remote -o my-book\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("page", metavar="PAGE", help="a saved page (.html), a folder of them, or an http(s) address")
    i.add_argument("-o", "--output", metavar="FOLDER", required=True,
                   help="the book folder to write (new, or an earlier import nobody edited)")
    i.add_argument("--allow-remote", action="store_true",
                   help="allow PAGE to be an http(s) address, and download pictures the saved page lacks")
    i.add_argument("--allow-private-network", action="store_true",
                   help="with --allow-remote, also download from this machine or its private networks "
                        "(default: public addresses only)")
    i.add_argument("--drop-spam", action="store_true",
                   help="remove the spam book is sure of (dose strings glued to words, shop links); "
                        "all of it is reported either way")
    i.add_argument("--disclaimer", metavar="FILE", help="a Markdown file put in book.yaml as the disclaimer")
    i.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    _debug_option(i)
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
        if args.command == "check":
            return _check(args)
        if args.command == "preview":
            return _preview(args)
        if args.command == "import":
            return _import(args)
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


def _debug_option(parser) -> None:
    # SUPPRESS: `book --debug build` and `book build --debug` both work; the subcommand's
    # default must not overwrite the top-level flag.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show a traceback for unexpected errors")


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"'{value}' is not a port number (0 to 65535)")
    return int(value)


def _jobs(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of processes (1 or more)")
    return int(value)


def _build(args) -> int:
    from . import parallel
    from .build import build

    if len(args.source) == 1 and Path(args.source[0]).suffix.lower() in (".html", ".htm") and not args.watch:
        return _import(args)  # book build PAGE.html: imported in a temporary folder, then built
    batch = parallel.expand_sources(args.source or ["content"])
    if args.watch and batch.is_batch:
        if batch.article_folders:
            raise UsageError(f"--watch builds one book, and '{sorted(batch.article_folders)[0]}' is a folder of "
                             "articles (it has no book.yaml): each builds on its own",
                             hint="watch one article, or add a book.yaml that lists them as chapters")
        raise UsageError("--watch builds one book at a time", hint="give one Markdown file or book folder")
    if batch.is_batch:
        extra = (["--read-aloud"] if args.read_aloud else []) + (
            ["--allow-remote-images"] if args.allow_remote_images else [])
        return parallel.build_batch(batch, args.output, jobs=args.jobs, cache=not args.no_cache,
                                    strict=args.strict, quiet=args.quiet, debug=args.debug,
                                    extra_args=tuple(extra))
    progress = None if args.quiet or not sys.stderr.isatty() else (lambda m: print(f"book: {m}", file=sys.stderr))

    def run():
        with parallel.options(jobs=args.jobs, cache=False if args.no_cache else "auto"):
            result = build(batch.sources[0], args.output, strict=args.strict, progress=progress,
                           read_aloud=args.read_aloud, speech_cache=not args.no_cache,
                           allow_remote_images=args.allow_remote_images)
        return result, _report(args, result)

    if args.watch:
        from .watch import console, watch

        if not Path(batch.sources[0]).exists():
            run()  # the same error as without --watch: there is nothing to watch
        return watch(batch.sources[0], lambda: run()[1] + _rendered(), say=console(args.quiet),
                     output=args.output)
    _result, line = run()
    if not args.quiet:
        print(line)
    return EXIT_OK


def _rendered() -> str:
    """How much the last build rendered, for the line a watcher prints after each build."""
    from .parallel import last_stats

    if last_stats is None or not last_stats.chapters:
        return ""
    return f", {last_stats.misses} of {last_stats.chapters} chapter(s) rendered"


def _print_warnings(result) -> None:
    for w in result.warnings:  # source problems that do not stop the build, and rule warnings
        print(f"book: {w.labelled('warning: ') if isinstance(w, Problem) else w}", file=sys.stderr)


def _report(args, result) -> str:
    """Print the build's warnings (unless --quiet); return its one-line summary."""
    if not args.quiet:
        _print_warnings(result)
        if result.conformance_blockers and (result.source.meta.accessibility.certified_by
                                            or result.source.meta.accessibility.conforms_to):
            print("book: the conformance claim was NOT written; fix these and build again:", file=sys.stderr)
            for b in result.conformance_blockers:
                print(f"book:   {b}", file=sys.stderr)
    narrated = ""
    if result.media:
        total = sum(result.media["durations"].values())
        narrated = f", narrated: {int(total // 60)} min {total % 60:.0f} s"
    return f"wrote {result.output} ({result.documents} documents{narrated})"


def _check(args) -> int:
    import json

    from .check import check
    from .errors import EXIT_CHECK
    from .statement import render_text

    progress = None if args.json or not sys.stderr.isatty() else (lambda m: print(f"book: {m}", file=sys.stderr))
    result = check(args.epub, epubcheck=not args.no_epubcheck, ace=not args.no_ace, progress=progress)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return EXIT_OK if result.ok else EXIT_CHECK
    print(f"Checked {result.epub}")
    if result.epubcheck is not None:
        e = result.epubcheck
        print(f"EPUBCheck {e.checker_version}: {e.fatals} fatal, {e.errors} errors, {e.warnings} warnings")
        for m in e.messages:
            print(f"  {m}")
    if result.ace is not None:
        print(f"DAISY Ace {result.ace.ace_version}: {len(result.ace.violations)} violations")
        for v in result.ace.violations:
            print(f"  {v}")
    errors = sum(1 for f in result.findings if f.severity == "error")
    print(f"book rules: {errors} errors, {len(result.findings) - errors} warnings")
    for f in result.findings:
        print(f"  {f}")
    for s in result.skipped:
        print(f"skipped: {s}")
    print()
    print("Accessibility statement")
    print(render_text(result.statement))
    print()
    print("PASS" if result.ok else "FAIL")
    return EXIT_OK if result.ok else EXIT_CHECK


def _preview(args) -> int:
    from .preview import preview

    def run_build(out):
        from . import parallel
        from .build import build

        with parallel.options(cache="auto"):
            result = build(args.source, out)
        _print_warnings(result)
        return f"rebuilt the book ({result.documents} documents){_rendered()}"

    return preview(args.source, port=args.port, open_browser=not args.no_open, watch=args.watch,
                   run_build=run_build)


def _import(args) -> int:
    """`book import PAGE -o FOLDER`, and `book build PAGE.html` (import in a temporary folder, then
    build).  The work is book.webimport's; this prints its report."""
    from .webimport import ImportOptions, build_page, import_pages, require

    require()
    if args.command == "build":
        result = build_page(args.source[0], args.output, ImportOptions(), strict=args.strict,
                            allow_remote_images=args.allow_remote_images, read_aloud=args.read_aloud)
        line = _report(args, result)
        if not args.quiet:
            for w in result.import_warnings:
                print(f"book: {w.labelled('warning: ')}", file=sys.stderr)
            print(line)
        return EXIT_OK
    options = ImportOptions(allow_remote=args.allow_remote, allow_private_network=args.allow_private_network,
                            drop_spam=args.drop_spam, disclaimer=args.disclaimer)
    result = import_pages(args.page, args.output, options)
    messages = [(p, "") for p in result.needs_description] + [(p, "warning: ") for p in result.warnings]
    messages.sort(key=lambda m: (0 if (m[0].file or "").endswith("book.yaml") else 1, m[0].file or "", m[0].line or 0))
    for problem, label in messages:
        print(f"book: {problem.labelled(label)}", file=sys.stderr)
    if not args.quiet:
        todo = len(result.needs_description)
        files = ", ".join(["book.yaml", *result.chapters])
        print(f"imported {len(result.chapters)} page(s) into {args.output}/: {files}, {result.pictures} picture(s)"
              + (f"; {todo} need(s) a description before book build {args.output}" if todo else
                 f"; next: book build {args.output}"))
    return EXIT_OK
