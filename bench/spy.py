"""Profile one Frontline scenario under load with py-spy (installed from PyPI into the bench work
folder's own venv), for the "what the profile shows" part of bench/RESULTS.md.

    python bench/spy.py --tickets 1000000 --scenario ticket_page --seconds 15

Starts Frontline (one gunicorn worker, so every sample is from the worker that serves the
load) on the already-seeded database frontline_bench_<N>, replays the scenario at concurrency 8,
records the worker with `py-spy record --format raw`, and prints where the samples went: by
leaf function (self time) and by a few inclusive buckets (template rendering, database wait,
ORM, JSON/schema, middleware)."""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run
from load import run_scenario, worker_rss_kb

BUCKETS = {
    "template rendering": ("django/template/",),
    "PostgreSQL client (psycopg: send, wait, fetch)": ("(psycopg/",),
    "ORM (query building, row objects)": ("django/db/models/",),
    "API schemas (pydantic, ninja)": ("pydantic", "ninja/"),
    "password/token hashing (sign-in of the load's sessions)": ("hashers.py", "argon2"),
    "sessions": ("contrib/sessions/",),
}


def py_spy() -> Path:
    venv = run.WORK / "tools"
    exe = venv / "bin" / "py-spy"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "py-spy"], check=True)
    return exe


def summarize(raw: Path, top: int) -> str:
    leaf: collections.Counter[str] = collections.Counter()
    bucket: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf[frames[-1]] += count
        for name, needles in BUCKETS.items():
            if any(needle in frame for frame in frames for needle in needles):
                bucket[name] += count
    lines = [f"{total} samples"]
    lines += [f"  {100 * n / total:5.1f}% inclusive  {name}" for name, n in bucket.most_common()]
    lines.append("top functions by self time:")
    lines += [f"  {100 * n / total:5.1f}%  {frame[:150]}" for frame, n in leaf.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--scenario", default="ticket_page", choices=run.SCENARIOS)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    db = f"frontline_bench_{args.tickets}"
    exe = py_spy()
    system = run.frontline_system(db, args.tickets, workers=1, threads=4)
    out = run.WORK / "profiles" / f"{args.scenario}-{args.tickets}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        workers = list(worker_rss_kb(system.server.proc.pid))
        result: dict[str, object] = {}

        def load() -> None:
            res = run_scenario(
                args.scenario,
                system.scenarios[args.scenario],
                host=run.HOST,
                port=system.server.port,
                concurrency=args.concurrency,
                seconds=args.seconds,
                max_requests=100_000,
                clients=system.clients.get(args.scenario),
            )
            result.update(res.summary())

        thread = threading.Thread(target=load)
        thread.start()
        time.sleep(1)
        subprocess.run(
            [str(exe), "record", "--pid", str(workers[0]), "--duration",
             str(int(args.seconds) - 2), "--rate", "200", "--format", "raw", "--output", str(out),
             "--nonblocking"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        thread.join()
    finally:
        system.server.stop()
    print(f"{args.scenario} at {args.tickets} tickets, 1 worker, c={args.concurrency}: {result}")
    print(summarize(out, args.top))
    print(f"raw profile: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
