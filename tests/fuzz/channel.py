"""What tests/fuzz/test_openapi_fuzz.py hands to tests/fuzz/hooks.py, which runs in the
schemathesis process: environment variable names, and the operations that find a device
login by its user code. Kept apart from hooks.py so the test does not register the hooks
in its own process."""

from __future__ import annotations

PROTECTED_ENV = "ZENML_FUZZ_PROTECTED_USERS"  # the admin's name and id, comma-separated
BASE_URL_ENV = "ZENML_FUZZ_BASE_URL"
TOKEN_ENV = "ZENML_FUZZ_TOKEN"  # the admin's bearer token, to make objects for single calls
SEEDS_ENV = "ZENML_FUZZ_SEEDS"  # Seeds.to_json(): the shared objects
RECORD_ENV = "ZENML_FUZZ_RECORD"  # a JSON-lines file, one line per answer

# Operations that find a device login by its user code (in the body) rather than by an id.
BY_CODE = frozenset(
    {
        ("PUT", "/api/v1/devices/{id}/verify"),
        ("POST", "/api/v1/devices/verify"),
        ("POST", "/api/v1/devices/verify/preview"),
    }
)
