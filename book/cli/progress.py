"""Progress on a terminal, drawn by rich: a bar with the count, the rate and the time left for a
batch of books and for read-aloud synthesis, a spinner with the step and the time so far for
any other long build or check.

Only on a terminal: when standard error is a file or a pipe (CI logs, `2> log`, another
program), nothing is drawn at all, so the output stays the plain `book: …` lines a machine reads.
rich honours `NO_COLOR` (https://no-color.org/): with it set, the bar has no colours, only its
shape.  The library knows nothing of this: it calls `BuildOptions.progress(message)` at each
step and, during a step that counts (the sentences being spoken), `progress.count(done, total)`.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text


def console() -> Console:
    """rich's console on standard error (where `book` says what it does; the results go to
    standard output)."""
    return Console(stderr=True)


def on_terminal(quiet: bool = False) -> bool:
    return not quiet and console().is_terminal


class _Rate(ProgressColumn):
    """Items per second ("2.4/s"), from rich's own speed estimate."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "–/s", style="progress.data.speed")


def _bar(con: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                    TimeRemainingColumn(), console=con, transient=False)


class Batch:
    """The bar of `book build` with several sources: `tick(outcome, done, total)` is build_many's
    `on_done`.  Counts the failures either way; draws only on a terminal."""

    def __init__(self, show: bool):
        self.failed = 0
        self.progress = _bar(console()) if show else None
        self.task = None

    def __enter__(self) -> Batch:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def tick(self, outcome, done: int, total: int) -> None:
        self.failed += outcome is not None and not outcome.ok
        if self.progress is None:
            return
        text = f"book: built {done - self.failed} of {total}" + (f", {self.failed} failed" if self.failed else "")
        if self.task is None:
            self.task = self.progress.add_task(text, total=total)
        self.progress.update(self.task, completed=done, total=total, description=text)


class Steps:
    """A long build's or check's progress: each step's line beside a spinner and the time so far;
    a step that counts (speaking the sentences of a read-aloud book) gets the bar, its rate and
    the time left.  A `BuildOptions.progress`; use as a context manager around the build, so the
    display is gone before the build's own lines are printed."""

    def __init__(self):
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console(), transient=True)
        self.step = None
        self.counting = None  # (Progress, task) of the step that counts, while it runs

    def __enter__(self) -> Steps:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._end_count()
        self.progress.stop()

    def __call__(self, message: str) -> None:
        self._end_count()
        if self.step is None:
            self.step = self.progress.add_task(f"book: {message}", total=None)
        else:
            self.progress.update(self.step, description=f"book: {message}")

    def count(self, done: int, total: int) -> None:
        if self.counting is None:
            bar = _bar(self.progress.console)
            self.progress.stop()
            bar.start()
            self.counting = (bar, bar.add_task(self.progress.tasks[0].description if self.progress.tasks else "book:",
                                               total=total))
        bar, task = self.counting
        bar.update(task, completed=done, total=total)

    def _end_count(self) -> None:
        if self.counting is not None:
            bar, _task = self.counting
            bar.stop()  # the finished bar stays on the screen: how long the speech took
            self.counting = None
            self.progress.start()
