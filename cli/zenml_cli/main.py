"""The ``zenml`` entry point: parse, run one command, turn every failure into one line."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TextIO

from zenml_cli.errors import CLIError
from zenml_cli.parser import build_parser
from zenml_cli.runtime import Runtime, open_in_browser, utc_now

ABORTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utc_now,
    open_browser: Callable[[str], bool] = open_in_browser,
) -> int:
    """Run ``zenml ARGV`` and return the exit code. Everything outside ``argv`` is injectable."""
    rt = Runtime(
        env=os.environ if env is None else env,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        stdin=stdin or sys.stdin,
        sleep=sleep,
        now=now,
        open_browser=open_browser,
    )
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(rt, args)
        return code
    except CLIError as error:
        rt.err(f"Error: {error.message}")
        return error.exit_code
    except KeyboardInterrupt:
        rt.err("Aborted.")
        return ABORTED
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except BrokenPipeError:
        return 1
    except Exception as error:  # never a traceback; ZENML_DEBUG=1 shows it
        if rt.env.get("ZENML_DEBUG"):
            raise
        rt.err(f"Error: unexpected {type(error).__name__}: {error} (ZENML_DEBUG=1 shows more)")
        return 1
