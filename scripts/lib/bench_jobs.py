"""The driver of scripts/bench-jobs (read that script first): job rate of the collectors ETL
service on SQLite and PostgreSQL against Celery + Redis, and the API's latency under wrk.

Every process it starts is stopped on exit (also on an error or a signal); every data
directory is under WORK. Runs in the Celery virtualenv (stdlib only, but for the Celery
client it starts as a child process).
"""

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))

children: list[subprocess.Popen] = []


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stops one child we started (its whole process group: Celery's prefork pool)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    if proc in children:
        children.remove(proc)


def stop_all() -> None:
    for proc in list(reversed(children)):
        stop(proc)


def spawn(cmd: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
    """Starts `cmd` in a process group of its own, stdout and stderr into `log`."""
    out = open(log, "wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    out.close()
    children.append(proc)
    return proc


def wait_for_line(proc: subprocess.Popen, log: str, pattern: str, timeout: float = 60.0) -> re.Match:
    """Waits until `log` has a line matching `pattern`; fails if the process dies first."""
    deadline = time.monotonic() + timeout
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        with open(log, errors="replace") as f:
            for line in f:
                if m := regex.search(line):
                    return m
        if proc.poll() is not None:
            sys.exit(f"{proc.args[:2]} exited ({proc.returncode}) before `{pattern}`:\n"
                     + open(log, errors="replace").read()[-2000:])
        time.sleep(0.05)
    sys.exit(f"{proc.args[:2]}: no `{pattern}` within {timeout} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """A keep-alive client of one collectors API."""

    def __init__(self, address: str, token: str):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def call(self, conn, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        conn.request(method, path, body=body, headers=self.headers)
        response = conn.getresponse()
        return response.status, response.read()

    def total(self, conn, status: str) -> int:
        code, body = self.call(conn, "GET", f"/api/etl/results?status={status}&limit=1")
        if code != 200:
            sys.exit(f"GET /api/etl/results: {code} {body[:300]!r}")
        return json.loads(body)["total"]


def job_rate(api: Api, jobs: int, connections: int, timeout: float, batch: int) -> dict:
    """Enqueues `jobs` noop jobs over `connections` keep-alive connections (one thread each),
    one per `POST /api/etl/process` or `batch` per `POST /api/etl/process/batch`, and times
    from the first POST until every job is COMPLETED (the total polled on a connection of
    its own)."""
    one = {"processing_type": "noop"}
    conns = [api.connect() for _ in range(connections)]
    poll = api.connect()
    if api.total(poll, "COMPLETED") != 0:
        sys.exit("the job table is not empty at the start")
    errors: list[str] = []
    last_ids: list[str] = []
    enqueue_done: list[float] = []

    def client(conn, count: int) -> None:
        last = None
        try:
            while count > 0:
                n = min(batch, count)
                if batch == 1:
                    path, body = "/api/etl/process", json.dumps(one).encode()
                else:
                    path, body = "/api/etl/process/batch", json.dumps({"requests": [one] * n}).encode()
                code, reply = api.call(conn, "POST", path, body)
                if code != 202:
                    errors.append(f"POST {path}: {code} {reply[:300]!r}")
                    return
                count -= n
                last = json.loads(reply)
            if last is not None:
                last_ids.append(last["result_id"] if batch == 1 else last["accepted"][-1]["result_id"])
        except Exception as e:  # noqa: BLE001 - reported, the run fails
            errors.append(f"POST /api/etl/process: {e!r}")
        finally:
            enqueue_done.append(time.monotonic())

    shares = [jobs // connections + (1 if i < jobs % connections else 0) for i in range(connections)]
    threads = [threading.Thread(target=client, args=(c, n)) for c, n in zip(conns, shares)]
    start = time.monotonic()
    for t in threads:
        t.start()
    deadline = start + timeout
    # While the clients enqueue nothing is polled. Then each client's last job (the last
    # due, so nearly the last claimed) is followed by id, a primary-key read every 2 ms;
    # once they are all COMPLETED the total is counted (a COUNT over the table, which
    # polled often would cost the service CPU), every 20 ms until it is complete.
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    if errors:
        sys.exit(errors[0])
    for result_id in last_ids:
        while True:
            code, body = api.call(poll, "GET", f"/api/etl/results/{result_id}")
            if code != 200:
                sys.exit(f"GET /api/etl/results/{result_id}: {code} {body[:300]!r}")
            if json.loads(body)["status"] == "COMPLETED":
                break
            if time.monotonic() > deadline:
                sys.exit(f"job {result_id} not COMPLETED after {timeout} s")
            time.sleep(0.002)
    while True:
        done = api.total(poll, "COMPLETED")
        if done >= jobs:
            elapsed = time.monotonic() - start
            break
        if time.monotonic() > deadline:
            sys.exit(f"only {done} of {jobs} jobs COMPLETED after {timeout} s")
        time.sleep(0.02)
    for t in threads:
        t.join()
    if errors:
        sys.exit(errors[0])
    failed = api.total(poll, "FAILED")
    if done != jobs or failed:
        sys.exit(f"{done} COMPLETED and {failed} FAILED, for {jobs} jobs enqueued")
    for c in conns + [poll]:
        c.close()
    return {"elapsed": elapsed, "enqueued": max(enqueue_done) - start, "result_id": last_ids[0]}


def wrk(args, api: Api, token: str, result_id: str) -> dict:
    """`wrk` against GET /api/etl/results/{id}: requests/s and latency percentiles."""
    url = f"http://{api.host}:{api.port}/api/etl/results/{result_id}"
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.wrk_connections}", f"-d{args.wrk_seconds}s",
           "--latency", "-H", f"Authorization: Bearer {token}", url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        sys.exit(f"wrk: {m.group(1)} error responses:\n{out}")
    if re.search(r"Socket errors", out):
        sys.exit(f"wrk: socket errors:\n{out}")

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]

    pct = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": pct["50"], "p99": pct["99"]}


def collectors_env(token: str) -> dict:
    env = dict(os.environ, COLLECTORS_API_TOKEN=token)
    env.pop("COLLECTORS_LOG", None)  # the default: warnings only
    return env


def run_sqlite(args, n: int, do_wrk: bool, batch: int) -> dict:
    token = secrets.token_hex(16)
    data = f"{args.work}/sqlite-{n}"
    log = f"{data}.log"
    os.makedirs(data)
    proc = spawn([args.bin, "serve", "--bind", "127.0.0.1:0", "--data-dir", data,
                  "--workers", str(args.slots)], log, collectors_env(token))
    try:
        address = wait_for_line(proc, log, r"listening on http://(\S+)").group(1)
        api = Api(address, token)
        result = job_rate(api, args.jobs, args.connections, args.timeout, batch)
        if do_wrk:
            result["wrk"] = wrk(args, api, token, result["result_id"])
        return result
    finally:
        stop(proc)


def psql(args, db: str, sql: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url(args, db), "-c", sql],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, PGPASSWORD=args.pg_password))


def pg_url(args, db: str, password: bool = False) -> str:
    u = args.pg
    auth = u.username or ""
    if password and args.pg_password:
        auth += ":" + urllib.parse.quote(args.pg_password, safe="")
    return f"postgres://{auth}@{u.hostname}:{u.port}/{db}"


def run_postgres(args, n: int, processes: int, slots: int, do_wrk: bool) -> dict:
    token = secrets.token_hex(16)
    db = f"bench_jobs_{os.getpid()}_{n}"
    psql(args, "postgres", f"CREATE DATABASE {db}")
    url = pg_url(args, db, password=True)
    data = f"{args.work}/pg-{n}"
    os.makedirs(data)
    procs = []
    try:
        # The API first (it creates the schema), then the workers.
        api_log = f"{data}/api.log"
        api_proc = spawn([args.bin, "serve", "--bind", "127.0.0.1:0", "--data-dir", data,
                          "--database", url, "--workers", "0"], api_log, collectors_env(token))
        procs.append(api_proc)
        address = wait_for_line(api_proc, api_log, r"listening on http://(\S+)").group(1)
        workers = []
        for w in range(processes):
            log = f"{data}/worker-{w}.log"
            proc = spawn([args.bin, "worker", "--data-dir", data, "--database", url,
                          "--workers", str(slots)], log, collectors_env(token))
            procs.append(proc)
            workers.append((proc, log))
        for proc, log in workers:
            wait_for_line(proc, log, r"workers on ")
        api = Api(address, token)
        result = job_rate(api, args.jobs, args.connections, args.timeout, args.batch)
        if do_wrk:
            # The API alone: the idle workers are stopped first.
            for proc, _ in workers:
                stop(proc)
            result["wrk"] = wrk(args, api, token, result["result_id"])
        return result
    finally:
        for proc in reversed(procs):
            stop(proc)
        psql(args, "postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def run_celery(args, n: int) -> dict:
    subprocess.run(["redis-cli", "-p", str(args.redis_port), "FLUSHALL"], check=True,
                   stdout=subprocess.DEVNULL)
    env = dict(os.environ, BENCH_REDIS_URL=f"redis://127.0.0.1:{args.redis_port}",
               PYTHONPATH=HERE)
    log = f"{args.work}/celery-{n}.log"
    worker = spawn([sys.executable, "-m", "celery", "-A", "bench_jobs_celery", "worker",
                    "--pool", "prefork", "--concurrency", str(args.celery_workers),
                    "--loglevel", "INFO", "--hostname", f"bench{n}@%h"], log, env)
    try:
        wait_for_line(worker, log, r"@\S+ ready\.")
        out = subprocess.run([sys.executable, os.path.join(HERE, "bench_jobs_celery.py"),
                              str(args.jobs), str(args.timeout)],
                             check=True, capture_output=True, text=True, env=env).stdout
        return json.loads(out.strip().splitlines()[-1])
    finally:
        stop(worker)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--jobs", type=int, default=10000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--pg-processes", default="1,2,4")
    p.add_argument("--slots", type=int, default=128,
                   help="`--workers` of `serve` and of each `worker`: jobs run at once per process")
    p.add_argument("--batch", type=int, default=100, help="jobs per POST /api/etl/process/batch")
    p.add_argument("--celery-workers", type=int, default=2)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--wrk-connections", type=int, default=32)
    p.add_argument("--wrk-seconds", type=int, default=10)
    p.add_argument("--timeout", type=float, default=600.0)
    args = p.parse_args()
    pg = os.environ.get("COLLECTORS_TEST_POSTGRES_URL")
    if not pg:
        sys.exit("COLLECTORS_TEST_POSTGRES_URL is not set")
    args.pg = urllib.parse.urlsplit(pg)
    args.pg_password = urllib.parse.unquote(args.pg.password or "")
    args.redis_port = free_port()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        redis_log = f"{args.work}/redis.log"
        redis = spawn(["redis-server", "--port", str(args.redis_port), "--bind", "127.0.0.1",
                       "--save", "", "--appendonly", "no", "--dir", args.work], redis_log)
        wait_for_line(redis, redis_log, r"Ready to accept connections")
        measure(args)
    finally:
        stop_all()


def measure(args) -> None:
    pg_counts = [int(x) for x in args.pg_processes.split(",") if x]
    # pg{k}: k worker processes of --slots jobs at once; pg{k}s1: of one job at once, where
    # a worker waits on its own round trips and more processes are what scales.
    scaling = [k for k in (1, 2) if k in pg_counts]
    configs = (["sqlite1", "sqlite"] + [f"pg{k}" for k in pg_counts]
               + [f"pg{k}s1" for k in scaling] + ["celery"])
    labels = {"sqlite1": f"collectors, SQLite, `serve --workers {args.slots}`, one job per POST",
              "sqlite": f"collectors, SQLite, `serve --workers {args.slots}`, {args.batch} jobs per POST",
              "celery": f"Celery, Redis, {args.celery_workers} prefork workers"}
    for k in pg_counts:
        labels[f"pg{k}"] = (f"collectors, PostgreSQL, {k} `worker --workers {args.slots}` "
                            f"process{'es' if k > 1 else ''} + API `--workers 0`, "
                            f"{args.batch} jobs per POST")
    for k in scaling:
        labels[f"pg{k}s1"] = (f"collectors, PostgreSQL, {k} `worker --workers 1` "
                              f"process{'es' if k > 1 else ''} + API `--workers 0`, "
                              f"{args.batch} jobs per POST")
    rates = {c: [] for c in configs}
    enqueue = {c: [] for c in configs}
    lat = {"sqlite": [], "pg": []}
    n = 0
    for run in range(args.runs):
        order = configs[run % len(configs):] + configs[:run % len(configs)]
        for config in order:
            n += 1
            if config == "sqlite":
                r = run_sqlite(args, n, do_wrk=True, batch=args.batch)
            elif config == "sqlite1":
                r = run_sqlite(args, n, do_wrk=False, batch=1)
            elif config == "celery":
                r = run_celery(args, n)
            else:
                k, one = int(config[2:].removesuffix("s1")), config.endswith("s1")
                r = run_postgres(args, n, k, 1 if one else args.slots,
                                 do_wrk=(k == pg_counts[0] and not one))
            rate = args.jobs / r["elapsed"]
            rates[config].append(rate)
            enqueue[config].append(args.jobs / r["enqueued"])
            if "wrk" in r:
                lat["sqlite" if config == "sqlite" else "pg"].append(r["wrk"])
            extra = f", wrk {r['wrk']['rps']:.0f} req/s p99 {r['wrk']['p99']:.2f} ms" if "wrk" in r else ""
            print(f"run {run + 1} {config:<7} {r['elapsed']:7.2f} s  {rate:8.0f} jobs/s  "
                  f"(enqueued at {args.jobs / r['enqueued']:.0f}/s){extra}", flush=True)

    med = {c: statistics.median(v) for c, v in rates.items()}
    print()
    print(f"{args.jobs} trivial jobs per run, {args.runs} run(s), medians; "
          f"client: {args.connections} keep-alive HTTP connections (Python threads)")
    print()
    print("| configuration | jobs/s (median) | runs | enqueue rate | × Celery |")
    print("|---|---:|---|---:|---:|")
    for c in configs:
        runs = ", ".join(f"{x:.0f}" for x in rates[c])
        print(f"| {labels[c]} | {med[c]:.0f} | {runs} | {statistics.median(enqueue[c]):.0f}/s "
              f"| {med[c] / med['celery']:.1f}× |")
    print()
    best = max(med[c] for c in configs if c != "celery")
    print(f"- one job per POST, SQLite / Celery: {med['sqlite1'] / med['celery']:.1f}×")
    print(f"- best collectors / Celery: {best / med['celery']:.1f}× "
          f"(target ≥ 20×: {'met' if best / med['celery'] >= 20 else 'missed'})")
    if scaling == [1, 2]:
        s = med["pg2s1"] / med["pg1s1"]
        print(f"- PostgreSQL 2 / 1 worker processes of one job at once: {s:.2f}× "
              f"(target ≥ 1.7×: {'met' if s >= 1.7 else 'missed'})")
        print(f"- PostgreSQL 2 / 1 worker processes of {args.slots} jobs at once: "
              f"{med['pg2'] / med['pg1']:.2f}× (one process already keeps the database busy)")
    if 4 in pg_counts and 1 in pg_counts:
        print(f"- PostgreSQL 4 / 1 worker processes: {med['pg4'] / med['pg1']:.2f}×")
    print()
    print(f"API latency: wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{args.wrk_seconds}s "
          f"--latency, GET /api/etl/results/{{id}} (bearer token), {args.jobs} jobs in the table; medians")
    print()
    print("| database | requests/s | p50 | p99 | runs (req/s) |")
    print("|---|---:|---:|---:|---|")
    for db, name in (("sqlite", "SQLite (`serve`, idle workers)"),
                     ("pg", "PostgreSQL (API `--workers 0`, workers stopped)")):
        if lat[db]:
            rps = statistics.median(x["rps"] for x in lat[db])
            p50 = statistics.median(x["p50"] for x in lat[db])
            p99 = statistics.median(x["p99"] for x in lat[db])
            runs = ", ".join(f"{x['rps']:.0f}" for x in lat[db])
            print(f"| {name} | {rps:.0f} | {p50:.2f} ms | {p99:.2f} ms | {runs} |")


if __name__ == "__main__":
    main()
