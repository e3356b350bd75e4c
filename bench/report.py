"""The printed table and the JSON file in bench/results/."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.runner import Row

RESULTS = Path(__file__).parent / "results"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _verdict(row: Row) -> str:
    parts = []
    for what, met in row.verdicts():
        mark = "?" if met is None else ("met" if met else "MISSED")
        parts.append(f"{what}: {mark}")
    return "; ".join(parts)


def _counts(row: Row) -> str:
    counts = row.ours.counts
    if not counts:
        return ""
    total = sum(counts.values())
    shown = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
    return " ".join(f"{k}={100 * v / total:.1f}%" for k, v in shown)


def table(title: str, rows: list[Row]) -> str:
    header = (
        f"{'scenario':<40} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} "
        f"{'peak RSS':>8} | {'baseline':<20} {'req/s':>8} {'p99 ms':>7} {'CPU ms':>7} {'ratio':>6}"
    )
    lines = [title, header, "-" * len(header)]
    for row in rows:
        o, b = row.ours, row.baseline
        lines.append(
            f"{row.scenario:<40} {_num(o.median('rps'), 0):>8} {_num(o.median('p50_ms'), 2):>7} "
            f"{_num(o.median('p99_ms'), 2):>7} {_num(o.median('cpu_ms'), 3):>10} "
            f"{_num(o.peak_rss_mb):>8} | {(b.label if b else ''):<20} "
            f"{_num(b.median('rps') if b else None, 0):>8} "
            f"{_num(b.median('p99_ms') if b else None, 2):>7} "
            f"{_num(b.median('cpu_ms') if b else None, 3):>7} {_num(row.ratio, 2):>6}"
        )
        extra = [_verdict(row), _counts(row), *row.notes]
        if o.socket_errors:
            extra.append(f"socket errors: {o.socket_errors}")
        if o.non_2xx and not o.counts:
            extra.append(f"non-2xx answers: {o.non_2xx}")
        detail = "   ".join(x for x in extra if x)
        if detail:
            lines.append(f"    {detail}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Load average, CPU time of the whole machine and of this benchmark's own processes."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    cpu = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpus": os.cpu_count(),
        "loadavg": [float(x) for x in load],
        "machine_busy_s": (sum(cpu) - cpu[3] - cpu[4]) / ticks,
        "machine_total_s": sum(cpu) / ticks,
        # servers, references and wrk are waited for, so their time is in RUSAGE_CHILDREN
        "bench_cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
    }


def busy_note(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """A warning when other work used a noticeable share of the machine during the run."""
    total = after["machine_total_s"] - before["machine_total_s"]
    busy = after["machine_busy_s"] - before["machine_busy_s"]
    ours = after["bench_cpu_s"] - before["bench_cpu_s"]
    if total <= 0:
        return None
    others = max(0.0, busy - ours) / total
    line = (
        f"Machine during the run: {100 * busy / total:.0f}% of {before['cpus']} CPUs busy, "
        f"{100 * ours / total:.0f}% by this benchmark (wrk, servers, client), "
        f"{100 * others:.0f}% by other processes (PostgreSQL's own backends included); "
        f"load average {before['loadavg'][0]:.1f} before, {after['loadavg'][0]:.1f} after."
    )
    if others > 0.1:
        line += (
            "\nNOTE: figures were taken on a busy machine: absolute figures are low and noisy; "
            "ratios within one run are the ones to compare."
        )
    return line


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def _dirty() -> list[str]:
    """Files changed but not committed: others work in the same tree while we measure."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in out.stdout.splitlines()]


def write_json(kind: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"commit": git_commit(), "uncommitted_changes": _dirty()}
    path.write_text(json.dumps({**meta, **data}, indent=2, default=str))
    return path
