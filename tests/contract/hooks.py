"""Schemathesis hooks for `make test` (scripts/contract.sh).

- `security_headers`: every answer (to a method API Gateway routes to a function),
  whatever its status, carries each security header
  with the exact value the document gives it (components.headers, from
  shared::pipeline::SECURITY_HEADERS) and an x-request-id. Documented required headers
  are checked by schemathesis itself; this also covers answers of undocumented statuses.
- `filter_body`: no request body that is not UTF-8. `cargo lambda watch` answers such a
  request with its own 500 before any function runs; API Gateway hands it to the
  function base64-encoded, where the JSON reader refuses it with 400 (the in-process
  test `input::tests::a_body_that_is_not_utf8_is_400`). And no `PUT /settings` that
  turns maintenance mode on: the switch is global, and the run goes on with two workers,
  so every write after it would answer 503 MAINTENANCE (a documented answer, which the
  server-error check counts as a failure), in an order the seed does not fix. The
  switch has its own test (tests/tests/site_switches.rs).
"""

import json
import os

import schemathesis

with open(os.environ["CONTRACT_DOCUMENT"], encoding="utf-8") as f:
    _HEADERS = {
        name: header["schema"]["const"]
        for name, header in json.load(f)["components"]["headers"].items()
        if "const" in header.get("schema", {})
    }


def _header_name(component):
    # CacheControl -> cache-control (the document's component names are the headers' names).
    out = ""
    for i, c in enumerate(component):
        if c.isupper() and i:
            out += "-"
        out += c.lower()
    return out


_EXPECTED = {_header_name(name): value for name, value in _HEADERS.items()}
assert len(_EXPECTED) >= 8, _EXPECTED


# The methods API Gateway's HTTP API hands to a function; others (TRACE, QUERY, ...)
# never reach one there, and `cargo lambda watch` answers them itself.
_ROUTED = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


@schemathesis.check
def security_headers(ctx, response, case):
    if case.method.upper() not in _ROUTED:
        return None
    missing = [
        f"{name}: {value}"
        for name, value in _EXPECTED.items()
        if response.headers.get(name, [None])[0] != value
    ]
    if missing or not response.headers.get("x-request-id"):
        raise AssertionError(
            f"{response.status_code} without the security headers: {missing or ['x-request-id']}"
        )


@schemathesis.hook
def filter_body(ctx, body):
    operation = getattr(ctx, "operation", None)
    if (
        operation is not None
        and operation.path == "/settings"
        and operation.method.upper() == "PUT"
        and isinstance(body, dict)
        and body.get("maintenanceMode") is True
    ):
        return False
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
