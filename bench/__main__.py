"""``python -m bench`` (``make bench``): our server against bare aiohttp references, via wrk.

Full mode takes several minutes per engine; ``--quick`` (short runs, one round) is a smoke
test. Results are printed as a table and written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import report, suite
from bench.options import Options
from bench.wrk import ensure_wrk


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 s runs, one round, no warm-up")
    p.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--seconds", type=float, help="seconds per wrk run (default 4; quick 2)")
    p.add_argument("--rounds", type=int, help="rounds per scenario (default 3; quick 1)")
    p.add_argument("--only", action="append", default=[], help="scenarios whose name has this")
    p.add_argument("--seeded", action="store_true", help="also: seeded database against empty")
    p.add_argument("--seeded-only", action="store_true", help="only the seeded comparison")
    p.add_argument("--seed-devices", type=int, default=1_000_000)
    p.add_argument("--seed-api-keys", type=int, default=100_000)
    p.add_argument(
        "--revoked-tokens", type=int, default=100_000, help="revoked jtis on file (its own row)"
    )
    p.add_argument("--soak", type=float, metavar="SECONDS", help="also: a soak of this length")
    p.add_argument("--soak-only", action="store_true", help="only the soak (with --soak)")
    p.add_argument("--rate-limit-scale", default="100000", help="ZENML_SERVER_RATE_LIMIT_SCALE")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ensure_wrk()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    before = report.machine()
    # Others may commit while a run goes on: the JSON says which commit it started and ended on.
    out: dict[str, Any] = {
        "commit_at_start": report.git_commit(),
        "machine_before": before,
        "args": vars(args),
        "engines": [],
    }
    printed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="zenml-bench-") as tmp:
        opts = Options(
            seconds=args.seconds or (2.0 if args.quick else 4.0),
            rounds=args.rounds or (1 if args.quick else 3),
            warm=not args.quick,
            work_dir=Path(tmp),
            rate_limit_scale=args.rate_limit_scale,
            only=tuple(args.only),
            seed_devices=args.seed_devices,
            seed_api_keys=args.seed_api_keys,
            revoked_tokens=args.revoked_tokens,
        )
        for engine in [] if args.soak_only else engines:
            results = [] if args.seeded_only else [suite.run_engine(engine, opts)]
            if args.seeded or args.seeded_only:
                results.append(suite.run_seeded(engine, opts))
            for result in results:
                out["engines"].append(result.to_json())
                text = report.table(f"\n== {result.engine} ==", result.rows)
                for line in (result.startup_summary(), result.extra.get("seed_note")):
                    if line:
                        text += "\n" + line
                printed.append(text)
        if args.soak:
            soak = suite.run_soak(engines[0], opts, args.soak)
            out["soak"] = soak
            printed.append(
                f"\nsoak {soak['seconds']:.0f} s on {soak['engine']} "
                f"(current-user + API-key logins): {soak['rps']:.0f} req/s, "
                f"RSS {soak['rss_first_mb']:.1f} -> {soak['rss_last_mb']:.1f} MB "
                f"(max {soak['rss_max_mb']:.1f}, growth {soak['growth_mb']:+.1f} MB)"
            )
    after = report.machine()
    out["machine_after"] = after
    note = report.busy_note(before, after)
    path = report.write_json("bench", out)
    print("\n\n" + "\n".join(printed))
    if note:
        print(note)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
