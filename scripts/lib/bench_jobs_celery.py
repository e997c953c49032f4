"""The Celery side of scripts/bench-jobs: a Celery app with one trivial task, and its client.

The app (``celery -A bench_jobs_celery worker``) reads the Redis URL from BENCH_REDIS_URL and
uses Redis as both the broker (db 0) and the result backend (db 1), Celery's defaults
otherwise. The client (``python bench_jobs_celery.py JOBS``) enqueues JOBS tasks with
``delay()``, waits for every result, and prints the seconds from the first ``delay()`` to the
last result as one JSON line.
"""

import json
import os
import sys
import time

from celery import Celery
from celery.result import ResultSet

_redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
app = Celery("bench_jobs", broker=f"{_redis}/0", backend=f"{_redis}/1")


@app.task(name="bench.noop")
def noop():
    """The trivial task: what collectors' `noop` job returns."""
    return {"processing_type": "noop"}


def main(jobs: int, timeout: float) -> None:
    """Enqueues `jobs` tasks, waits for all of their results, prints the elapsed time."""
    # One connection warm-up outside the timing (collectors' client opens its
    # connections before the clock starts too).
    app.connection_for_write().ensure_connection(max_retries=3)
    start = time.monotonic()
    results = [noop.delay() for _ in range(jobs)]
    enqueued = time.monotonic() - start
    values = ResultSet(results).get(timeout=timeout, propagate=True)
    elapsed = time.monotonic() - start
    bad = sum(1 for v in values if v != {"processing_type": "noop"})
    if bad:
        sys.exit(f"celery: {bad} of {jobs} results are wrong")
    print(json.dumps({"elapsed": elapsed, "enqueued": enqueued, "jobs": len(values)}))


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
