"""current-user on a server holding 100,000 revoked token ids against one holding none.

Two fresh databases on the engine, migrated; one gets ``Options.revoked_tokens`` unexpired
revocations (``bench.seed``, bulk SQL) BEFORE its server starts, since a process reads the
revoked ``jti``s into its in-memory set only at start. Both servers then run side by side and
the benchmark asks each how many it holds (``zenml_server_revoked_tokens`` on /metrics): a
server that did not load them all is reported as a failed row and not measured, since its
figures would say nothing about the set.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from bench import scenarios, seed
from bench.options import Options
from bench.runner import Load, Row, Side, run_pair
from bench.scenarios import Fixtures, Target
from bench.servers import Server, database, migrate, running, start_ours

HELD = "zenml_server_revoked_tokens"
# Tokens that carry a jti, so every request looks it up in the set.
TOKENS = (("API-key token", "api_key_token"), ("device token", "device_token"))


def _short(count: int) -> str:
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


def names(count: int) -> list[str]:
    return [f"current-user {label}, {_short(count)} revoked" for label, _ in TOKENS]


@dataclass(frozen=True)
class Pair:
    revoked: Server
    none: Server
    held: tuple[float | None, float | None]  # what each says it holds
    seed_seconds: float
    rss_mb: tuple[float, float]  # right after start


@contextmanager
def _servers(engine: str, opts: Options) -> Iterator[Pair]:
    with ExitStack() as stack:
        none_url = stack.enter_context(database(engine, opts.work_dir, "no-revoked"))
        revoked_url = stack.enter_context(database(engine, opts.work_dir, "revoked"))
        for url in (none_url, revoked_url):
            migrate(url)
        took = seed.seed(revoked_url, 0, 0, opts.revoked_tokens)
        revoked = stack.enter_context(
            running(start_ours(revoked_url, opts.work_dir, **opts.settings()))
        )
        none = stack.enter_context(running(start_ours(none_url, opts.work_dir, **opts.settings())))
        held = (revoked.metrics().get(HELD), none.metrics().get(HELD))
        rss = (revoked.memory_mb().get("VmRSS", 0.0), none.memory_mb().get("VmRSS", 0.0))
        yield Pair(revoked, none, held, took, rss)


def _failed(name: str, count: int, held: tuple[float | None, float | None]) -> Row:
    row = Row(name, Side(f"{_short(count)} revoked"), Side("none revoked"), rss_in_summary=False)
    row.targets = (Target(f"server holds the {count} seeded jtis", "held", count),)
    row.figures["held"] = held[0] if held[0] is not None else -1
    shown = ["not reported" if h is None else f"{h:.0f}" for h in held]
    row.notes.append(
        f"NOT MEASURED: the seeded server holds {shown[0]} revoked jtis and the empty one "
        f"{shown[1]} ({HELD} on /metrics), not {count} and 0"
    )
    print(f"bench: {name}: {row.notes[-1]}", file=sys.stderr, flush=True)
    return row


def run(engine: str, opts: Options) -> list[Row]:
    """One row per token kind: GETs on the server holding the revocations against the one
    holding none, in turn, round after round."""
    count = opts.revoked_tokens
    wanted = [(n, attr) for n, (_, attr) in zip(names(count), TOKENS, strict=True)]
    wanted = [(n, attr) for n, attr in wanted if opts.selected(n)]
    if not wanted:
        return []
    rows: list[Row] = []
    with _servers(engine, opts) as pair:
        if pair.held != (count, 0):
            return [_failed(name, count, pair.held) for name, _ in wanted]
        fx_revoked = asyncio.run(scenarios.prepare(pair.revoked.url))
        fx_none = asyncio.run(scenarios.prepare(pair.none.url))
        for name, attr in wanted:
            rows.append(_measure(name, attr, pair, fx_revoked, fx_none, opts))
        # After the load too: nothing dropped the set while it was being read.
        held_after = pair.revoked.metrics().get(HELD, -1.0)
    for row in rows:
        row.notes.append(
            f"seeded {count} revoked jtis in {pair.seed_seconds:.1f} s; start-up "
            f"{pair.revoked.startup_seconds:.2f} s with them, {pair.none.startup_seconds:.2f} s "
            f"without; RSS after start {pair.rss_mb[0]:.1f} MB with them, "
            f"{pair.rss_mb[1]:.1f} MB without; {HELD}: {pair.held[0]:.0f} after start, "
            f"{held_after:.0f} after the load"
        )
    return rows


def _measure(
    name: str, attr: str, pair: Pair, fx_revoked: Fixtures, fx_none: Fixtures, opts: Options
) -> Row:
    get = scenarios.by_name("current-user device token")
    mine, base = run_pair(
        (pair.revoked, scenarios.current_user(getattr(fx_revoked, attr))),
        (pair.none, scenarios.current_user(getattr(fx_none, attr))),
        Load(opts.seconds, get.connections, get.threads),
        opts.rounds,
        labels=(f"{_short(opts.revoked_tokens)} revoked", "none revoked"),
        warm=opts.warm,
    )
    row = Row(
        name,
        mine,
        base,
        (
            Target("revoked >= 0.9 x none", "ratio", 0.9),
            Target(
                f"server holds the {opts.revoked_tokens} seeded jtis", "held", opts.revoked_tokens
            ),
        ),
    )
    row.figures["held"] = pair.held[0] or 0.0
    row.rss_in_summary = False
    return row
