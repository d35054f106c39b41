"""Run jobs in threads released at the same moment, for race tests on PostgreSQL."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def race(*jobs: Callable[[], Any]) -> list[Any]:
    """Run each job in its own thread, all released together; return each result or error."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
