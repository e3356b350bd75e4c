"""Where our server spends its time in one scenario, sampled with py-spy.

    python -m bench.profile "pending poll" [--engine sqlite] [--seconds 10] [--top 25]
    python -m bench.profile "device flows"

py-spy is not a dependency: install it into the venv first (``.venv/bin/pip install py-spy``).
Prints the functions with the most samples, inclusive (anywhere on the stack) and exclusive
(on top), from py-spy's collapsed stacks, and keeps the raw file in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import flows, report, scenarios, wrk
from bench.servers import database, running, start_ours

SETTINGS = {
    "rate_limit_scale": "1000",
    "device_auth_polling_interval": "1",
    "device_auth_timeout": "3600",
}


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    return found


def summarize(collapsed: Path, top: int) -> str:
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue  # py-spy can print a frame's name over several lines (a docstring)
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        exclusive[frames[-1]] += n
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("exclusive (self)", exclusive)):
        lines.append(f"-- {title}")
        for frame, n in counter.most_common(top):
            lines.append(f"{100 * n / max(1, total):5.1f}%  {frame}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", help="a scenario name from bench/scenarios.py, or 'flows'")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    args = parser.parse_args()
    py_spy = _py_spy()
    out = report.RESULTS / f"profile-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    report.RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zenml-bench-") as tmp:
        work = Path(tmp)
        with database(args.engine, work) as url, running(start_ours(url, work, **SETTINGS)) as s:
            fx = asyncio.run(scenarios.prepare(s.url))
            sc = None if "flow" in args.scenario else scenarios.by_name(args.scenario)
            pending = (
                asyncio.run(scenarios.pending_polls(s.url, sc.pending))
                if sc is not None and sc.pending
                else ()
            )
            # Sampling starts once the set-up requests are done.
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(s.process.pid), "--duration",
                 str(int(args.seconds)), "--format", "raw", "--output", str(out),
                 "--nonblocking", "--rate", str(args.rate)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(0.5)
            if sc is None:
                got = asyncio.run(flows.run_flows(s.url, fx.admin_token, 20, args.seconds))
                print(f"{got.rate:.0f} flows/s")
            else:
                result = wrk.run(
                    s.url,
                    sc.ours(fx, pending),
                    connections=sc.connections,
                    threads=sc.threads,
                    seconds=args.seconds,
                    count=sc.count,
                )
                print(f"{result.rps:.0f} req/s, counts {result.counts}")
            spy.wait()
    print(summarize(out, args.top))
    print(f"raw collapsed stacks: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
