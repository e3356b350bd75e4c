"""Real objects for the fuzz run to act on, made through the server's own API as the admin.

Schemathesis invents the ids in a path (``/devices/{device_id}``), and an invented id names
nothing: without these objects every such operation answers 404 and its handler is never run
past the lookup. Used by the test (the shared objects, made once) and by tests/fuzz/hooks.py
(a fresh object for each call that would destroy or consume one).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from typing import Any

TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Named:
    """An object the API finds by id, and by name where it takes a name."""

    id: str
    name: str


@dataclass(frozen=True)
class PendingDevice:
    """A device login waiting for approval, with the user code that approves it."""

    id: str
    user_code: str


@dataclass(frozen=True)
class Seeds:
    """The shared objects: read and changed by the fuzzer, never destroyed (see hooks.py)."""

    user: Named
    account: Named
    api_key: Named
    trust_policy: Named
    device: Named
    pending_device: PendingDevice

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Seeds:
        raw = json.loads(text)
        return cls(
            user=Named(**raw["user"]),
            account=Named(**raw["account"]),
            api_key=Named(**raw["api_key"]),
            trust_policy=Named(**raw["trust_policy"]),
            device=Named(**raw["device"]),
            pending_device=PendingDevice(**raw["pending_device"]),
        )


def _unique(kind: str) -> str:
    return f"fuzz-{kind}-{uuid.uuid4().hex[:12]}"


class Seeder:
    """Makes objects on the server at ``base`` with an admin's bearer ``token``."""

    def __init__(self, base: str, token: str) -> None:
        self._base = base
        self._token = token

    def _send(self, method: str, path: str, body: bytes, content_type: str) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            self._base + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": content_type},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def _json(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self._send(method, path, json.dumps(payload).encode(), "application/json")

    def user(self) -> Named:
        """A user without a password (no argon2 hash to compute: cheap enough for every call)."""
        made = self._json("POST", "/api/v1/users", {"name": _unique("user")})
        return Named(str(made["id"]), str(made["name"]))

    def account(self) -> Named:
        made = self._json("POST", "/api/v1/service_accounts", {"name": _unique("account")})
        return Named(str(made["id"]), str(made["name"]))

    def api_key(self, account: Named) -> Named:
        path = f"/api/v1/service_accounts/{account.id}/api_keys"
        made = self._json("POST", path, {"name": _unique("key")})
        return Named(str(made["id"]), str(made["name"]))

    def trust_policy(self, account: Named) -> Named:
        path = f"/api/v1/service_accounts/{account.id}/trust_policies"
        made = self._json(
            "POST",
            path,
            {
                "issuer": "https://token.actions.githubusercontent.com",
                "audience": "zenml-fuzz",
                "claims": {"repository": _unique("repo")},
            },
        )
        return Named(str(made["id"]), str(made["id"]))

    def pending_device(self) -> PendingDevice:
        """A device login as the CLI starts one, then looked up by its code (not approved)."""
        form = urllib.parse.urlencode({"client_id": str(uuid.uuid4())}).encode()
        started = self._send(
            "POST", "/api/v1/device_authorization", form, "application/x-www-form-urlencoded"
        )
        user_code = str(started["user_code"])
        preview = self._json("POST", "/api/v1/devices/verify/preview", {"user_code": user_code})
        return PendingDevice(str(preview["device"]["id"]), user_code)

    def device(self) -> Named:
        """A device the admin approved: the admin's own, so the admin's device calls find it."""
        pending = self.pending_device()
        self._json("PUT", f"/api/v1/devices/{pending.id}/verify", {"user_code": pending.user_code})
        return Named(pending.id, pending.id)

    def seeds(self) -> Seeds:
        account = self.account()
        return Seeds(
            user=self.user(),
            account=account,
            api_key=self.api_key(account),
            trust_policy=self.trust_policy(account),
            device=self.device(),
            pending_device=self.pending_device(),
        )
