"""Schemathesis hooks for the fuzz run (loaded through SCHEMATHESIS_HOOKS).

The fuzzer is logged in as an admin and may change any user, itself included: one PUT that
deactivates it or changes its password ends its token, and every later request would only
test the 401 path. Requests that would change the fuzzer's own user go to a user that does
not exist instead (still a real request to the same operation, answering 404).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

# The admin's name and id, comma-separated, set by tests/fuzz/test_openapi_fuzz.py.
PROTECTED_ENV = "ZENML_FUZZ_PROTECTED_USERS"
_USER_PATH = "/api/v1/users/{name_or_id}"


def _protected() -> set[str]:
    return {value.lower() for value in os.environ.get(PROTECTED_ENV, "").split(",") if value}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.operation.path != _USER_PATH or case.method.upper() == "GET":
        return
    target = str((case.path_parameters or {}).get("name_or_id", ""))
    if target.strip().lower() in _protected():
        case.path_parameters["name_or_id"] = "fuzz-not-a-user"
