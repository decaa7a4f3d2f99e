"""The query plans behind one benchmark request: EXPLAIN (ANALYZE, BUFFERS) of each of its SELECTs.

    python bench/explain.py --scenario queue_page [--request 0] [--plans 3] \
        --database-url postgres://postgres@127.0.0.1:5432/frontline_bench_1000000

Makes request number `--request` of a bench/page_profile.py scenario (the load benchmark's
users, filters and tickets) in this process, records its SQL as sent to PostgreSQL, then runs
each SELECT again under EXPLAIN (ANALYZE, BUFFERS, SUMMARY) in a transaction that is rolled
back. Prints one line per query (planning and execution time, the first line of its plan) and the
full plans of the `--plans` slowest. For bench/RESULTS.md ("for any target missed, the query
plan that explains it"). Writes are listed, not explained.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import page_profile


def _explain(sql: str) -> tuple[float, float, str]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SUMMARY) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    text = "\n".join(lines)
    planning = re.search(r"Planning Time: ([\d.]+) ms", text)
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    return (
        float(planning.group(1)) if planning else 0.0,
        float(execution.group(1)) if execution else 0.0,
        text,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scenario", required=True, choices=page_profile.SCENARIOS)
    parser.add_argument("--request", type=int, default=0, help="which request of the scenario")
    parser.add_argument("--plans", type=int, default=3, help="full plans of the N slowest")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgres"):
        parser.error("EXPLAIN ANALYZE needs PostgreSQL")
    page_profile._setup(args.database_url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fx = page_profile._fixtures()
    request = page_profile._scenario(args.scenario, fx)
    request(args.request)  # once to warm caches (configuration, compiled templates, buffers)
    with CaptureQueriesContext(connection) as captured:
        response = request(args.request)
    print(
        f"# {args.scenario} request {args.request}: HTTP {response.status_code}, "
        f"{len(captured.captured_queries)} statements"
    )
    explained: list[tuple[float, float, str, str]] = []
    for query in captured.captured_queries:
        sql = query["sql"]
        head = " ".join(sql.split())[:110]
        if not sql.lstrip().upper().startswith("SELECT"):
            print(f"  (not explained) {head}")
            continue
        planning, execution, plan = _explain(sql)
        first = plan.splitlines()[0].strip() if plan else ""
        print(f"  plan {planning:7.2f} ms  exec {execution:8.2f} ms  {head}")
        print(f"      {first[:140]}")
        explained.append((execution + planning, execution, sql, plan))
    total: Any = sum(e[0] for e in explained)
    print(f"# planning + execution of the SELECTs: {total:.2f} ms")
    for _, _, sql, plan in sorted(explained, key=lambda e: -e[0])[: args.plans]:
        print("\n" + " ".join(sql.split())[:400] + "\n" + plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
