"""Work side by side on the planned worker pool (`--workers`, see runner.configure_workers).

Each task runs in a thread of its own that drives sandboxed worker subprocesses one after
the other (perfloop.sandbox.runner), so the threads mostly wait and at most as many tasks
run at once as workers may. Results come back in the order of the tasks, whatever order
they finish in, so what a caller stores and reports is what one worker would give. With
one worker the tasks run one after the other in the calling thread, as before the pool.

The caller times nothing while tasks run: measurement starts after `side_by_side` has
returned, so no work of perfloop's runs beside a timing. When the caller stops (Ctrl-C
reaches only the main thread), the workers of the tasks still running are killed, the
tasks not started are dropped, and the interrupt goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

from perfloop.sandbox.runner import stopping_workers, worker_count

T = TypeVar("T")


def side_by_side(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Each task's result, in the order of `tasks`. If a task raises (or the caller is
    interrupted), the workers of the others are killed and the exception goes on."""
    count = min(worker_count(), len(tasks))
    if count <= 1:
        return [task() for task in tasks]
    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="perfloop-verify")
    futures = [pool.submit(task) for task in tasks]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)  # one failed: the others need not finish
        for future in futures:
            if future.done() and future.exception() is not None:
                future.result()  # raises it
        results = [future.result() for future in futures]
    except BaseException:
        with stopping_workers():  # the workers of a stopping run do not go on
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


__all__ = ["side_by_side"]
