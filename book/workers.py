"""How `book` runs work side by side: how many workers, and how their processes start."""

from __future__ import annotations

import os
import sys
import threading


def worker_count(jobs: int | None) -> int:
    """Processes or threads for work that can run side by side: `jobs`, else one per CPU."""
    return jobs if jobs else (os.cpu_count() or 1)


def process_context():
    """How worker processes start.  `fork` where it is safe — Linux, from a process with one
    thread — since a forked worker starts in milliseconds with everything already imported.
    Forking a process that runs other threads (a preview server, a Dask worker) could copy a
    lock another thread holds, so there workers start through `forkserver` (a clean process
    that forks them; `spawn` where there is none): the same result, a slower start."""
    import multiprocessing  # when processes start: a build that starts none does without it

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
