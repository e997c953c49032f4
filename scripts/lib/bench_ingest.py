#!/usr/bin/env python3
"""The measuring half of scripts/bench-ingest (read its header): makes the objects, uploads
them to each S3 server with rclone, then times `collectors data-source ingest` against
`rclone copy` (and, local → local, `cp -r`) into an empty directory, the order rotated per
run, and prints the medians.

    bench_ingest.py --bin COLLECTORS --work DIR --runs N --concurrency N --objects N --seed N
                    --server NAME=ENDPOINT,PID ... --key KEY --secret SECRET

Standard library only. Every output directory is checked: the number of files, their sizes,
no temp file left; in the first run each file is also compared byte for byte with its source.
"""
import argparse
import filecmp
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time

LO, HI, TOTAL = 10_000, 10_000_000, 1_000_000_000  # 10 KB to 10 MB, about 1 GB in all
BUCKET = "bench"
CLK = os.sysconf("SC_CLK_TCK")


def sizes_for(n, seed):
    """n sizes from LO to HI, skewed to the small ones (LO * (HI/LO) ** (u ** p), u uniform),
    p found by bisection so they add up to about TOTAL * n / 1000."""
    rng = random.Random(seed)
    us = [rng.random() for _ in range(n)]
    target = TOTAL * n / 1000
    make = lambda p: [int(LO * (HI / LO) ** (u**p)) for u in us]
    lo, hi = 0.2, 20.0
    for _ in range(60):
        p = (lo + hi) / 2
        if sum(make(p)) > target:
            lo = p
        else:
            hi = p
    return make((lo + hi) / 2)


def make_data(work, n, seed):
    src = f"{work}/data/src"
    manifest = f"{work}/data/manifest.json"
    want = {"objects": n, "seed": seed, "lo": LO, "hi": HI, "total": TOTAL}
    try:
        with open(manifest) as f:
            made = json.load(f)
        if made["params"] == want and os.path.isdir(src):
            return src, made["files"]
    except (OSError, ValueError, KeyError):
        pass
    shutil.rmtree(f"{work}/data", ignore_errors=True)
    os.makedirs(src)
    rng = random.Random(seed + 1)
    files = {}
    for i, size in enumerate(sizes_for(n, seed)):
        rel = f"part-{i % 20:02d}/obj-{i:05d}.bin"
        os.makedirs(os.path.dirname(f"{src}/{rel}"), exist_ok=True)
        with open(f"{src}/{rel}", "wb") as f:
            f.write(rng.randbytes(size))
        files[rel] = size
    with open(manifest, "w") as f:
        json.dump({"params": want, "files": files}, f)
    return src, files


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, every thread


def top_snapshot(pids):
    """`top`'s CPU line and the rows of the processes that matter, from its second frame (the
    first one's percentages are not over a recent interval)."""
    out = subprocess.run(["top", "-b", "-n2", "-d0.5", "-w", "160"], capture_output=True,
                         text=True).stdout
    frame = out.split("\ntop - ")[-1].splitlines()
    wanted = {str(p) for p in pids if p}
    return ([l for l in frame if l.startswith("%Cpu")]
            + [l for l in frame if l.split()[:1] and l.split()[0] in wanted])


def timed(cmd, env, log, server_pid, want_top):
    """Runs cmd; returns (wall s, tool CPU s, server CPU s, max RSS MB, top lines)."""
    with open(log, "ab") as logf:
        logf.write(f"$ {' '.join(cmd)}\n".encode())
        logf.flush()
        s0 = cpu_ticks(server_pid) if server_pid else 0
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=logf)
        snap = []
        if want_top:
            # Frames at 0.3 s and 0.8 s: inside every timed run here (a second or more).
            t = threading.Timer(0.3, lambda: snap.extend(top_snapshot([proc.pid, server_pid])))
            t.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        s1 = cpu_ticks(server_pid) if server_pid else 0
        if want_top:
            t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = open(log, errors="replace").read()[-3000:]
        sys.exit(f"{cmd[0]} exited {proc.returncode}; the end of {log}:\n{tail}")
    return wall, usage.ru_utime + usage.ru_stime, (s1 - s0) / CLK, usage.ru_maxrss / 1024, snap


def check(out, src, files, full):
    """out holds exactly the files of src, same sizes (same bytes when full)."""
    seen = {}
    for root, _, names in os.walk(out):
        for name in names:
            path = os.path.join(root, name)
            seen[os.path.relpath(path, out)] = os.path.getsize(path)
    if seen != files:
        extra = sorted(set(seen) - set(files))[:5]
        missing = sorted(set(files) - set(seen))[:5]
        wrong = sorted(k for k in files if k in seen and seen[k] != files[k])[:5]
        sys.exit(f"{out}: {len(seen)} files, not {len(files)}: extra {extra}, missing {missing}, "
                 f"wrong size {wrong}")
    if full:
        bad = [rel for rel in files if not filecmp.cmp(f"{src}/{rel}", f"{out}/{rel}", shallow=False)]
        if bad:
            sys.exit(f"{out}: {len(bad)} files differ from the source, e.g. {bad[:5]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--objects", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--server", action="append", default=[], help="NAME=ENDPOINT,PID")
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    a = ap.parse_args()
    work, conc = a.work, a.concurrency
    os.makedirs(f"{work}/logs", exist_ok=True)

    t0 = time.monotonic()
    src, files = make_data(work, a.objects, a.seed)
    total = sum(files.values())
    sizes = sorted(files.values())
    print(f"data: {len(files)} objects, {total / 1e6:.0f} MB, sizes {sizes[0] / 1e3:.0f} KB to "
          f"{sizes[-1] / 1e6:.1f} MB (median {statistics.median(sizes) / 1e3:.0f} KB; "
          f"{sum(s >= 1e6 for s in sizes)} of 1 MB or more), seed {a.seed}, in {src} "
          f"(ready in {time.monotonic() - t0:.1f}s)")

    # No AWS_* or RCLONE_* from the caller's environment: each tool gets its settings here.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env["RCLONE_CONFIG"] = rclone_conf = f"{work}/rclone.conf"
    servers = []
    conf = []
    for spec in a.server:
        name, rest = spec.split("=", 1)
        endpoint, pid = rest.rsplit(",", 1)
        remote = name.replace("-", "")
        conf.append(f"[{remote}]\ntype = s3\nprovider = Other\nendpoint = {endpoint}\n"
                    f"access_key_id = {a.key}\nsecret_access_key = {a.secret}\n"
                    f"region = us-east-1\nforce_path_style = true\n")
        ours = f"{work}/{name}.toml"
        with open(os.open(ours, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(f'aws_endpoint = "{endpoint}"\nallow_http = true\naws_region = "us-east-1"\n'
                    f'aws_access_key_id = "{a.key}"\naws_secret_access_key = "{a.secret}"\n')
        servers.append((name, remote, ours, int(pid)))
    with open(os.open(rclone_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("\n".join(conf))

    setup_log = f"{work}/logs/setup.log"
    for name, remote, ours, _ in servers:
        t0 = time.monotonic()
        with open(setup_log, "ab") as log:
            for cmd in (["rclone", "mkdir", f"{remote}:{BUCKET}"],
                        ["rclone", "copy", src, f"{remote}:{BUCKET}", "--transfers", "16"]):
                if subprocess.run(cmd, env=env, stdout=log, stderr=log).returncode:
                    sys.exit(f"{' '.join(cmd)} failed: {open(setup_log).read()[-3000:]}")
        listed = json.loads(subprocess.run(
            [a.bin, "data-source", "list", f"s3://{BUCKET}/", "--json", "--config", ours],
            env=env, capture_output=True, text=True, check=True).stdout)
        got = {o["path"]: o["size"] for o in listed}
        if got != files:
            sys.exit(f"{name}: `data-source list` shows {len(got)} objects, {sum(got.values())} "
                     f"bytes, not the {len(files)} uploaded")
        print(f"{name}: uploaded with rclone in {time.monotonic() - t0:.1f}s (setup, not timed); "
              f"`collectors data-source list` sees all {len(got)}")

    # The tools of each target: (label, command for an output directory).
    flags = ["--concurrency", str(conc), "--quiet"]
    targets = [("local", None, [
        ("collectors", lambda out: [a.bin, "data-source", "ingest", src, "--output-dir", out, *flags]),
        ("rclone", lambda out: ["rclone", "copy", src, out, "--transfers", str(conc)]),
        ("cp -r", lambda out: ["cp", "-r", src, out]),
    ])]
    for name, remote, ours, pid in servers:
        targets.append((name, pid, [
            ("collectors", lambda out, ours=ours: [a.bin, "data-source", "ingest", f"s3://{BUCKET}/",
                                                   "--output-dir", out, "--config", ours, *flags]),
            ("rclone", lambda out, remote=remote: ["rclone", "copy", f"{remote}:{BUCKET}", out,
                                                   "--transfers", str(conc)]),
        ]))
    print(f"tools: `collectors data-source ingest --concurrency {conc} --quiet` (S3: --config with "
          f"aws_endpoint, allow_http, aws_region, keys); `rclone copy --transfers {conc}` (its other "
          f"settings default: --checkers 8, MD5 checked; config: type s3, provider Other, "
          f"force_path_style); `cp -r`. Each into a fresh directory, `sync` first; {a.runs} runs, "
          f"order rotated per run")

    results = {}  # (target, tool) -> list of (wall, tool cpu, server cpu, rss, sync s)
    tops = []
    out = f"{work}/out"
    for run in range(a.runs):
        for target, server_pid, tools in targets:
            k = run % len(tools)
            for label, cmd in tools[k:] + tools[:k]:
                shutil.rmtree(out, ignore_errors=True)
                subprocess.run(["sync"], check=True)
                log = f"{work}/logs/{target}-{label.split()[0]}.log"
                wall, cpu, scpu, rss, snap = timed(cmd(out), env, log, server_pid, run == 0)
                s0 = time.monotonic()
                subprocess.run(["sync"], check=True)
                flush = time.monotonic() - s0
                check(out, src, files, full=(run == 0))
                results.setdefault((target, label), []).append((wall, cpu, scpu, rss, flush))
                if snap:
                    tops.append((target, label, snap))
                print(f"  run {run + 1} {target:<7} {label:<11} {wall:6.2f} s  "
                      f"{total / 1e6 / wall:7.1f} MB/s  tool CPU {100 * cpu / wall:4.0f}%"
                      + (f"  server CPU {100 * scpu / wall:4.0f}%" if server_pid else "")
                      + f"  then sync {flush:.2f} s", flush=True)
    shutil.rmtree(out, ignore_errors=True)

    med = lambda target, label, i: statistics.median(r[i] for r in results[(target, label)])
    cp = med("local", "cp -r", 0)
    print(f"\nmedians of {a.runs} runs ({len(files)} objects, {total / 1e6:.0f} MB; CPU in % of one "
          f"core, {os.cpu_count()} cores; +sync: the rate counting the `sync` after the tool):")
    print(f"  {'target':<7} {'tool':<11} {'s':>6} {'files/s':>8} {'MB/s':>7} {'+sync MB/s':>10} "
          f"{'tool CPU':>8} {'server CPU':>10} {'max RSS':>8}  ratios")
    for target, server_pid, tools in targets:
        for label, _ in tools:
            wall = med(target, label, 0)
            flush = med(target, label, 4)
            line = (f"  {target:<7} {label:<11} {wall:6.2f} {len(files) / wall:8.0f} "
                    f"{total / 1e6 / wall:7.1f} {total / 1e6 / (wall + flush):10.1f} "
                    f"{100 * med(target, label, 1) / wall:7.0f}% "
                    + (f"{100 * med(target, label, 2) / wall:9.0f}% " if server_pid else f"{'-':>10} ")
                    + f"{med(target, label, 3):6.0f}MB")
            if label == "collectors":
                rc = med(target, "rclone", 0)
                line += f"  ours/rclone {rc / wall:.2f}, ours/cp {cp / wall:.2f}"
            print(line)
    print("\n| target | tool | files/s | MB/s | ours / rclone | ours / cp |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for target, _, tools in targets:
        for label, _ in tools:
            wall = med(target, label, 0)
            ratios = "| |"
            if label == "collectors":
                ratios = f"| {med(target, 'rclone', 0) / wall:.2f} | {cp / wall:.2f} |"
            print(f"| {target} | {label} | {len(files) / wall:.0f} | {total / 1e6 / wall:.1f} {ratios}")
    print("\n`top -b -n2 -d0.5` (second frame) 0.3 to 0.8 s into each tool's first run (the tool's and the server's rows):")
    for target, label, snap in tops:
        print(f"  {target} / {label}:")
        for l in snap:
            print(f"    {l}")


if __name__ == "__main__":
    main()
