"""Schemathesis hooks for the fuzz run (loaded through SCHEMATHESIS_HOOKS).

Steering. An id the fuzzer invents names nothing, so an operation on ``/devices/{device_id}``
would only ever answer 404. Two calls out of three whose path parameters were generated valid
are pointed at real objects (tests/fuzz/seeds.py): by id, or every other time by name where
the parameter takes one. The third call keeps its invented values (the 404 path), and calls
with deliberately invalid path parameters are left alone. The body stays the fuzzer's, so a
bad body now meets a real object. The stateful phase is not steered: it chains real ids from
the answers itself, and its checks (a created object can be read, a deleted one cannot) hold
only for the ids it chose.

Shared objects are only read. A call that would change, destroy or consume an object (PUT,
DELETE, approving a device) gets one made for it alone, whether it was steered or drew a shared
object's id from the ids schemathesis collects from answers; so the shared objects survive for
every later call, whatever the order of operations.

The fuzzer is logged in as an admin and may change any user, itself included: one PUT that
deactivates it or changes its password ends its token, and every later request would only
test the 401 path. Requests that would change the fuzzer's own user go to a user that does
not exist instead (still a real request to the same operation, answering 404).

Recording. Every answer's operation, status and whether it was steered are appended to the
file named by RECORD_ENV, for the test's per-operation counts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

from tests.fuzz.channel import (
    BASE_URL_ENV,
    BY_CODE,
    PROTECTED_ENV,
    RECORD_ENV,
    SEEDS_ENV,
    TOKEN_ENV,
)
from tests.fuzz.seeds import Named, Seeder, Seeds

_USER_PATH = "/api/v1/users/{name_or_id}"
_ACCOUNT = "/api/v1/service_accounts/{account}"
_KEY = _ACCOUNT + "/api_keys/{key}"
_POLICY = _ACCOUNT + "/trust_policies/{policy}"

# Path parameters that take a name as well as an id.
_TAKES_NAME = {"name_or_id", "account", "key"}


def _protected() -> set[str]:
    return {value.lower() for value in os.environ.get(PROTECTED_ENV, "").split(",") if value}


@cache
def _seeds() -> Seeds:
    return Seeds.from_json(os.environ[SEEDS_ENV])


@cache
def _seeder() -> Seeder:
    return Seeder(os.environ[BASE_URL_ENV], os.environ[TOKEN_ENV])


Targets = dict[str, Named]
_Steer = Callable[[Seeds, Seeder], Targets]


def _shared_key(seeds: Seeds, _: Seeder) -> Targets:
    return {"account": seeds.account, "key": seeds.api_key}


def _fresh_key(seeds: Seeds, make: Seeder) -> Targets:
    return {"account": seeds.account, "key": make.api_key(seeds.account)}


def _fresh_account(_: Seeds, make: Seeder) -> Targets:
    return {"account": make.account()}


# (method, path) -> the objects its path parameters name. Mutating calls get fresh objects.
_STEERING: dict[tuple[str, str], _Steer] = {
    ("GET", _USER_PATH): lambda seeds, _: {"name_or_id": seeds.user},
    ("PUT", _USER_PATH): lambda _, make: {"name_or_id": make.user()},
    ("DELETE", _USER_PATH): lambda _, make: {"name_or_id": make.user()},
    ("GET", "/api/v1/devices/{device_id}"): lambda seeds, _: {"device_id": seeds.device},
    ("PUT", "/api/v1/devices/{device_id}"): lambda _, make: {"device_id": make.device()},
    ("DELETE", "/api/v1/devices/{device_id}"): lambda _, make: {"device_id": make.device()},
    ("GET", _ACCOUNT): lambda seeds, _: {"account": seeds.account},
    ("PUT", _ACCOUNT): _fresh_account,
    ("DELETE", _ACCOUNT): _fresh_account,
    ("GET", _ACCOUNT + "/api_keys"): lambda seeds, _: {"account": seeds.account},
    ("POST", _ACCOUNT + "/api_keys"): lambda seeds, _: {"account": seeds.account},
    ("GET", _KEY): _shared_key,
    ("PUT", _KEY): _fresh_key,
    ("DELETE", _KEY): _fresh_key,
    ("PUT", _KEY + "/rotate"): _fresh_key,
    ("GET", _ACCOUNT + "/trust_policies"): lambda seeds, _: {"account": seeds.account},
    ("POST", _ACCOUNT + "/trust_policies"): lambda seeds, _: {"account": seeds.account},
    ("GET", _POLICY): lambda seeds, _: {
        "account": seeds.account,
        "policy": seeds.trust_policy,
    },
    ("DELETE", _POLICY): lambda seeds, make: {
        "account": seeds.account,
        "policy": make.trust_policy(seeds.account),
    },
}


_calls: Counter[tuple[str, str]] = Counter()
# id(case) -> whether before_call steered it, until after_call records its answer.
_steered_cases: dict[int, bool] = {}


def _steer_by_code(case: Any, operation: tuple[str, str]) -> None:
    """Approvals consume their device login: each gets a fresh one; a preview reads the
    shared one. The code goes in the body only when the fuzzer made a body of the right shape
    (an invalid body stays invalid: its refusal is what is tested)."""
    device = _seeds().pending_device if operation[1].endswith("/preview") else None
    device = device or _seeder().pending_device()
    if "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = device.id
    body = case.body
    body_is_valid = case.meta is None or not case.meta.is_negative_at(ParameterLocation.BODY)
    if body_is_valid and isinstance(body, dict) and isinstance(body.get("user_code"), str):
        body["user_code"] = device.user_code


def _steer(case: Any) -> bool:
    operation = (case.method.upper(), case.operation.path)
    steer = _STEERING.get(operation)
    if steer is None and operation not in BY_CODE:
        return False
    if case.meta is not None and (
        case.meta.phase.name == TestPhase.STATEFUL
        or case.meta.is_negative_at(ParameterLocation.PATH)
    ):
        return False
    turn = _calls[operation]
    _calls[operation] += 1
    if turn % 3 == 2:
        return False
    if steer is None:
        _steer_by_code(case, operation)
        return True
    by_name = turn % 3 == 1
    for parameter, target in steer(_seeds(), _seeder()).items():
        use_name = by_name and parameter in _TAKES_NAME
        case.path_parameters[parameter] = target.name if use_name else target.id
    return True


@cache
def _shared_identities() -> frozenset[str]:
    seeds = _seeds()
    named = (seeds.user, seeds.account, seeds.api_key, seeds.trust_policy, seeds.device)
    values = {n.id for n in named} | {n.name for n in named} | {seeds.pending_device.id}
    return frozenset(value.lower() for value in values)


def _shield_shared_objects(case: Any) -> None:
    """A change aimed at a shared object (by its id or name, the last parameter of the path)
    goes to a fresh object instead."""
    operation = (case.method.upper(), case.operation.path)
    if operation[0] not in ("PUT", "DELETE") or not case.path_parameters:
        return
    victim = case.operation.path.rsplit("{", 1)[-1].split("}", 1)[0]
    if str(case.path_parameters.get(victim, "")).strip().lower() not in _shared_identities():
        return
    steer = _STEERING.get(operation)
    if steer is None:  # approving a device by id
        case.path_parameters[victim] = _seeder().pending_device().id
        return
    for parameter, target in steer(_seeds(), _seeder()).items():
        case.path_parameters[parameter] = target.id


def _protect_the_fuzzer(case: Any) -> None:
    if case.operation.path != _USER_PATH or case.method.upper() == "GET":
        return
    target = str((case.path_parameters or {}).get("name_or_id", ""))
    if target.strip().lower() in _protected():
        case.path_parameters["name_or_id"] = "fuzz-not-a-user"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    steered = False
    if os.environ.get(SEEDS_ENV) is not None:
        steered = _steer(case)
        _shield_shared_objects(case)
    _protect_the_fuzzer(case)
    _steered_cases[id(case)] = steered


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    record = os.environ.get(RECORD_ENV)
    if not record:
        return
    line = {
        "operation": f"{case.method.upper()} {case.operation.path}",
        "status": response.status_code,
        "steered": _steered_cases.pop(id(case), False),
    }
    with open(record, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
