"""The command line: thin on purpose.  It parses arguments, calls the library (`book.build`,
`book.build_many`, `book.check`), prints, and turns a :class:`book.errors.BookError` into one
line per problem on stderr and its exit code.  The library never imports this package.

Its commands' long-running parts live beside it: ``watch`` (``--watch``) and ``preview``."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from dataclasses import replace
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import (EXIT_CHECK, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BookError, Problem,
                      ToolError, UsageError, printable)
from ..options import BuildOptions

if TYPE_CHECKING:
    from ..batch import Outcome

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
A batch (several sources) exits with the highest status of its sources: 0 when all were written.
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
               "  book build archive/ -o /shared/out --dask-scheduler tcp://scheduler:8786\n"
               "  book build my-book/ --watch         # rebuild on every save\n"
               "  book build my-book/ --kobo          # also dist/<title>.kepub.epub for Kobo e-readers\n\n" + EPILOG,
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
    b.add_argument("--speech-command", metavar="COMMAND",
                   help="with --read-aloud: the program that speaks instead of eSpeak NG; it reads a sentence "
                        "on stdin and writes a WAV file to {output} ({voice}: the language tag). A source's "
                        "own read-aloud.command is never run")
    b.add_argument("--allow-remote-images", action="store_true",
                   help="download images given by http(s) address into the book (default: refuse them; "
                        "EPUB keeps every image inside the file)")
    b.add_argument("--allow-private-network", action="store_true",
                   help="with --allow-remote-images: download from this machine and private networks too "
                        "(default: public addresses only)")
    b.add_argument("--onix", nargs="?", const="file", choices=("file", "embed"),
                   help="also write the book's ONIX 3.1 record (accessibility codes from the same facts as the "
                        "EPUB's metadata) as NAME.onix.xml beside it; --onix=embed also puts it inside the EPUB")
    b.add_argument("-w", "--watch", action="store_true",
                   help="stay running and build again each time a file of the book is saved; only what "
                        "changed is rendered again (Ctrl-C to stop)")
    b.add_argument("--kobo", action="store_true",
                   help="also write the Kobo edition NAME.kepub.epub beside the EPUB: the same book with "
                        "the markup Kobo e-readers use for reading statistics, highlights and page turns")
    b.add_argument("--dask-scheduler", metavar="ADDRESS",
                   help="build a batch of sources on the Dask cluster whose scheduler is at ADDRESS "
                        "(tcp://HOST:PORT); its workers must see the sources and the -o folder "
                        "(needs the book[dask] extra)")
    b.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _debug_option(b)

    c = sub.add_parser(
        "check", help="check an EPUB with EPUBCheck, DAISY Ace and book's accessibility rules",
        description="Check any EPUB: validity (EPUBCheck), accessibility (DAISY Ace and book's own rules), "
                    "and print the accessibility statement a reading system would show, in the words of "
                    "the W3C Accessibility Metadata Display Guide.",
        epilog="examples:\n  book check dist/my-book.epub\n  book check my-book.epub --json > report.json\n"
               "  book check my-book.epub --html report.html\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("epub", metavar="BOOK.epub", help="the EPUB to check")
    c.add_argument("--json", action="store_true", help="print the whole report as JSON")
    c.add_argument("--html", metavar="REPORT.html",
                   help="also write a self-contained HTML report: the statement, every finding with its place, "
                        "EPUBCheck's and Ace's results, and the first pages as Chromium and MuPDF draw them "
                        "(the pictures need the book[report] extra)")
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
    command = {"build": _build, "check": _check, "preview": _preview, "import": _import}[args.command]
    args.whole_process = argv is None  # the command line of this process (`book`, `python -m book`)
    try:
        return command(args)
    except BookError as e:
        for problem in e.problems:
            print(f"book: {problem}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("book: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug in book, not a problem with the input
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        else:
            print(printable(f"book: internal error: {type(e).__name__}: {e} — please report it; "
                            "run again with --debug for details"), file=sys.stderr)
        return EXIT_INTERNAL


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


def _options(args) -> BuildOptions:
    """The build settings the command line gives."""
    progress = None if args.quiet or not sys.stderr.isatty() else (lambda m: print(f"book: {m}", file=sys.stderr))
    return BuildOptions(strict=args.strict, read_aloud=args.read_aloud, allow_remote_images=args.allow_remote_images,
                        speech_command=args.speech_command, allow_private_network=args.allow_private_network,
                        kobo=args.kobo, onix=args.onix,
                        jobs=args.jobs, cache=False if args.no_cache else None, progress=progress)


def _build(args) -> int:
    # The library is imported by the command that needs it: `book --version` and `book --help`
    # load none of it, `book build` not the checkers (book.check).
    from ..batch import Outcome, expand_sources
    from ..build import build

    if args.whole_process:
        # What the imports made (~100,000 objects) lives as long as the process: exempt from the
        # cyclic garbage collector (gc.freeze, Python's documentation), whose full collections
        # would otherwise walk all of it each time a build has made enough new objects (~20 ms
        # of a 0.3 s rebuild that reads 400 cache entries, issue 13).  (Not when a program
        # calls main(): its objects and its collector are its own.)
        gc.freeze()
    if len(args.source) == 1 and Path(args.source[0]).suffix.lower() in (".html", ".htm") and not args.watch:
        return _import(args)  # book build PAGE.html: imported in a temporary folder, then built
    batch = expand_sources(args.source or ["content"])
    if args.watch and batch.is_batch:
        if batch.article_folders:
            raise UsageError(f"--watch builds one book, and '{sorted(batch.article_folders)[0]}' is a folder of "
                             "articles (it has no book.yaml): each builds on its own",
                             hint="watch one article, or add a book.yaml that lists them as chapters")
        raise UsageError("--watch builds one book at a time", hint="give one Markdown file or book folder")
    if args.dask_scheduler and not batch.is_batch:
        raise UsageError("--dask-scheduler builds a batch on a cluster, and one source was given",
                         hint="give several sources or a folder of articles, or leave the option out")
    options = _options(args)
    if batch.is_batch:
        return _build_batch(args, batch, options)
    if args.whole_process:
        # One book: the youngest generation is collected every 100,000 new objects, not every
        # 700.  A build makes objects that live (the cached chapters a rebuild loads) far
        # faster than garbage (a cold build of a million words leaves ~15,000 objects in
        # cycles), and each collection walked the objects just loaded (~10 ms of a rebuild).
        # Cycles are still collected (and by --watch after each build).  Not for a batch: its
        # hundreds of builds in a process would keep each one's cycles longer (peak memory of
        # 500 articles: 64 MB → 106 MB).
        gc.set_threshold(100_000, 10, 10)

    def run(memory=None) -> Outcome:
        outcome = Outcome.of(batch.sources[0], build(batch.sources[0], args.output, replace(options, memory=memory)))
        _print_warnings(outcome, args.quiet)
        return outcome

    if args.watch:
        from .watch import console, watch

        if not Path(batch.sources[0]).exists():
            run()  # the same error as without --watch: there is nothing to watch
        return watch(batch.sources[0], lambda memory: _summary(o := run(memory)) + _rendered(o),
                     say=console(args.quiet), output=args.output)
    if options.progress is not None:  # on a terminal: rich's spinner, and a bar while speaking
        from .progress import Steps

        steps = Steps()
        options = replace(options, progress=steps)
        with steps:
            outcome = run()
    else:
        outcome = run()
    if not args.quiet:
        print(_summary(outcome))
        if args.onix:
            from ..package.onix import record_path

            print(f"wrote {record_path(outcome.output)} (ONIX 3.1)")
    return EXIT_OK


def _print_warnings(outcome: Outcome, quiet: bool) -> None:
    """A build's warnings, and why a conformance claim it asked for was not written."""
    if quiet:
        return
    for w in outcome.warnings:  # source problems that do not stop the build, and rule warnings
        print(f"book: {w.labelled('warning: ') if isinstance(w, Problem) else w}", file=sys.stderr)
    if outcome.conformance_blockers and outcome.claim_requested:
        print("book: the conformance claim was NOT written; fix these and build again:", file=sys.stderr)
        for b in outcome.conformance_blockers:
            print(f"book:   {b}", file=sys.stderr)


def _summary(outcome: Outcome) -> str:
    """The line a build prints when it wrote the EPUB."""
    narrated = ""
    if outcome.narrated_seconds is not None:
        total = outcome.narrated_seconds
        narrated = f", narrated: {int(total // 60)} min {total % 60:.0f} s"
    kobo = f" and the Kobo edition {outcome.kepub}" if outcome.kepub else ""
    return f"wrote {outcome.output} ({outcome.documents} documents{narrated}){kobo}"


def _rendered(outcome: Outcome) -> str:
    """How much a build rendered, for the line a watcher prints after each build."""
    if not outcome.stats.chapters:
        return ""
    return f", {outcome.stats.misses} of {outcome.stats.chapters} chapter(s) rendered"


def _build_batch(args, batch, options: BuildOptions) -> int:
    """Several sources: one EPUB each, side by side (book.build_many); the books built are
    reported first, in the order given, then every failure, as the usual `file:line` lines."""
    out_dir = Path(args.output) if args.output else Path("dist")
    if args.output and (out_dir.suffix.lower() == ".epub" or (out_dir.exists() and not out_dir.is_dir())):
        print(f"book: with several sources, -o names a folder, not '{args.output}'", file=sys.stderr)
        return EXIT_USAGE
    executor = None
    if args.dask_scheduler:
        executor = _dask_executor(args.dask_scheduler)
    from ..batch import build_many
    from .progress import Batch, on_terminal

    # A rich bar (count, rate, time left) on a terminal; nothing when stderr is a file or pipe.
    with Batch(on_terminal(args.quiet)) as bar:
        bar.tick(None, 0, len(batch.sources))
        try:
            outcomes = build_many(batch, out_dir, options, executor, on_done=bar.tick)
        finally:
            if executor is not None:
                executor.shutdown()
    failed = bar.failed
    for o in outcomes:  # the books built, in the order given
        if o.ok:
            _print_warnings(o, args.quiet)
            if not args.quiet:
                print(_summary(o))
    for o in outcomes:  # then every failure
        if not o.ok:
            for problem in o.problems:
                print(f"book: {problem}", file=sys.stderr)
            if o.traceback and getattr(args, "debug", False):
                print(o.traceback, file=sys.stderr, end="")
    if failed and not args.quiet:
        print(f"book: {failed} of {len(outcomes)} sources failed", file=sys.stderr)
    # The most serious failure speaks for the batch: a bug (70), an output that could not be
    # written (5) or a missing checker (4) is not reported as a problem of a source (1).
    return max((o.exit_code for o in outcomes), default=EXIT_OK)


def _dask_executor(address: str):
    """An executor on the Dask cluster at `address` (PyPI `distributed`, the `book[dask]`
    extra); imported only here, so nothing of Dask loads without --dask-scheduler."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--dask-scheduler needs Dask's distributed package, which is not installed",
                         hint="pip install 'book[dask]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise ToolError(f"cannot reach the Dask scheduler at {address} ({e})",
                        hint="start one (dask scheduler) and its workers, and give its tcp://HOST:PORT address") from None
    return _ClientExecutor(client)


class _ClientExecutor:
    """A Dask client's executor that also closes the client when shut down."""

    def __init__(self, client):
        self.client = client
        self.executor = client.get_executor()

    def submit(self, fn, *args, **kwargs):
        return self.executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait)
        self.client.close()


def _check(args) -> int:
    import json

    from ..check import check
    from ..check.statement import render_text

    from .progress import Steps, on_terminal

    if not args.json and on_terminal():
        with Steps() as steps:  # a spinner with the step and the time, gone when the check ends
            result = check(args.epub, epubcheck=not args.no_epubcheck, ace=not args.no_ace, progress=steps)
    else:
        try:
            result = check(args.epub, epubcheck=not args.no_epubcheck, ace=not args.no_ace)
        except BookError as e:
            if args.json:
                # A script reading stdout gets JSON even for an EPUB that cannot be read at all
                # (not a zip, no package document) or a checker that could not run; the same
                # one-line problems go to stderr and the exit code is the error's (main()).
                print(json.dumps({"epub": args.epub, "ok": False, "exit_code": e.exit_code,
                                  "problems": [{"message": p.message, "file": p.file, "line": p.line, "hint": p.hint}
                                               for p in e.problems]}, ensure_ascii=False, indent=2))
            raise
    if args.html:
        _html_report(result, args.html, quiet=args.json)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return EXIT_OK if result.ok else EXIT_CHECK
    print(printable(f"Checked {result.epub}"))
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
        print(printable(f"skipped: {s}"))
    print()
    print("Accessibility statement")
    # The statement's words come from the EPUB's own metadata: shown as text, never as terminal codes.
    print("\n".join(printable(line) for line in render_text(result.statement).split("\n")))
    print()
    print("PASS" if result.ok else "FAIL")
    return EXIT_OK if result.ok else EXIT_CHECK


def _html_report(result, output: str, quiet: bool) -> None:
    """`book check --html`: the report beside the usual output; an engine that is not installed
    leaves its pictures out (said on stderr and in the report), never the report."""
    from ..errors import OutputError
    from ..check.report import write_html

    if Path(output).is_dir():
        raise OutputError(f"'{output}' is a folder", file=output, hint="give a file name: --html report.html")
    try:
        missing = write_html(result, output)
    except OSError as e:
        raise OutputError(f"cannot write the report ({e.strerror or e})", file=output,
                          hint="choose a writable place: --html report.html") from None
    for note in missing:
        print(f"book: warning: the report has no pictures from one engine: {note}", file=sys.stderr)
    print(f"wrote {output}", file=sys.stderr if quiet else sys.stdout)


def _preview(args) -> int:
    from ..batch import Outcome
    from ..build import build
    from .preview import preview

    def run_build(out, memory=None):
        result = build(args.source, out, BuildOptions(memory=memory))
        outcome = Outcome.of(args.source, result)
        _print_warnings(outcome, False)
        return f"rebuilt the book ({outcome.documents} documents)" + _rendered(outcome)

    return preview(args.source, port=args.port, open_browser=not args.no_open, watch=args.watch,
                   run_build=run_build)


def _import(args) -> int:
    """`book import PAGE -o FOLDER`, and `book build PAGE.html` (import in a temporary folder, then
    build).  The work is book.webimport's; this prints its report."""
    from ..batch import Outcome
    from ..webimport import ImportOptions, build_page, import_pages, require

    require()
    if args.command == "build":
        result, import_warnings = build_page(args.source[0], args.output, ImportOptions(), _options(args))
        outcome = Outcome.of(args.source[0], result)
        _print_warnings(outcome, args.quiet)
        if not args.quiet:
            for w in import_warnings:
                print(f"book: {w.labelled('warning: ')}", file=sys.stderr)
            print(_summary(outcome))
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
        print(printable(f"imported {len(result.chapters)} page(s) into {args.output}/: {files}, "
                        f"{result.pictures} picture(s)")
              + (f"; {todo} need(s) a description before book build {args.output}" if todo else
                 f"; next: book build {args.output}"))
    return EXIT_OK
