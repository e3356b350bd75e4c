"""Running wrk with bench/lua/request.lua and reading the JSON its ``done()`` hook prints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).parent / "lua" / "request.lua"
_MARK = "BENCH_JSON "


@dataclass(frozen=True)
class RequestSpec:
    """What every request of a run looks like; ``bodies`` are sent in turn."""

    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    bodies: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [self.method, self.path]
        lines += [f"H {name}: {value}" for name, value in self.headers.items()]
        lines += [f"B {body}" for body in self.bodies]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    counts: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")


def ensure_wrk() -> str:
    """The path of wrk; installs it with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "bench: wrk is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y wrk; "
        "macOS: brew install wrk) and run again."
    )


class WrkRun:
    """One wrk process, started at once; ``result()`` waits for it."""

    def __init__(
        self,
        url: str,
        spec: RequestSpec,
        *,
        connections: int,
        threads: int,
        seconds: float,
        count: bool = False,
    ) -> None:
        threads = max(1, min(threads, connections))
        self._spec_file = tempfile.NamedTemporaryFile(
            "w", prefix="bench-spec-", suffix=".txt", delete=False
        )
        self._spec_file.write(spec.render())
        self._spec_file.close()
        env = {**os.environ, "BENCH_SPEC": self._spec_file.name, "BENCH_THREADS": str(threads)}
        if count:
            env["BENCH_COUNT"] = "1"
        else:
            env.pop("BENCH_COUNT", None)
        cmd = [
            ensure_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ]
        self._process = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def result(self) -> WrkResult:
        out, err = self._process.communicate()
        Path(self._spec_file.name).unlink(missing_ok=True)
        for line in out.splitlines():
            if line.startswith(_MARK):
                return parse(json.loads(line[len(_MARK) :]))
        raise RuntimeError(f"wrk printed no result (exit {self._process.returncode}): {err}{out}")


def parse(data: dict[str, Any]) -> WrkResult:
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors={k: int(v) for k, v in data["errors"].items()},
        latency_us={k: float(v) for k, v in data["latency_us"].items()},
        counts={k: int(v) for k, v in data["counts"].items()},
    )


def run(url: str, spec: RequestSpec, **kwargs: Any) -> WrkResult:
    return WrkRun(url, spec, **kwargs).result()
