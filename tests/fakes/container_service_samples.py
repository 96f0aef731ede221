"""Response bodies of the container service API as a real Zun 18 answered
them, for the offline tests (the plugin's clients, the fake cloud).

Every body here is loaded from container_service_recorded.json: the exchanges
tests/fakes/record_container_service.py made with a real zun-api and
zun-compute 18 (each call the plugin's clients make, as the member user and
as admin, at the plugin's microversion). Not from Zun's API reference, which
is wrong in places: a member's container view has no `host`,
`image_pull_policy`, `privileged` or `runtime`; a list's containers carry no
`links`; execute answers `proxy_url`, not `url`; errors are
`{"errors": [{code, detail, links, request_id, status, title}]}` with codes
such as `container.container-not-found`; a missing image is a 202, then
status Error and "Image X could not be found."; logs are a JSON string.

To re-record, on a machine where the local cloud may run:

    container-ci cloud up --with container-service
    python -m tests.fakes.record_container_service

which rewrites container_service_recorded.json; the tests then check the
plugin's schemas and the fakes against what the service says now."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

RECORDING = Path(__file__).with_name("container_service_recorded.json")

#: Every recorded exchange: {name, as, method, path, request, status, body}.
EXCHANGES: list[dict[str, Any]] = json.loads(RECORDING.read_text())

# Zun's policy shows these to admins only (container:get_one:host, ...).
ADMIN_ONLY_FIELDS = ("host", "image_pull_policy", "privileged", "runtime")


def exchange(name: str, who: str = "member") -> dict[str, Any]:
    """The recorded exchange `name` made as `who` ("member" or "admin"), a copy."""
    for recorded_exchange in EXCHANGES:
        if recorded_exchange["name"] == name and recorded_exchange["as"] == who:
            return copy.deepcopy(recorded_exchange)
    known = sorted({(e["name"], e["as"]) for e in EXCHANGES})
    raise KeyError(f"no exchange {name!r} as {who!r} in {RECORDING.name}; recorded: {known}")


def recorded(name: str, who: str = "member") -> tuple[int, Any]:
    """(status, body) of the recorded exchange; the body is a copy, yours to change."""
    found = exchange(name, who)
    return found["status"], found["body"]


def _body(name: str, who: str = "member") -> Any:
    return recorded(name, who)[1]


def _changed(body: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    body.update(changes)
    return body


def container(**changes: Any) -> dict[str, Any]:
    """The member's view of the recorded container once created (a show:
    status Created), with `changes` applied; a deep copy."""
    return _changed(_body("show_container"), changes)


def creating(**changes: Any) -> dict[str, Any]:
    """The answer to the member's create (202, status Creating, most
    fields still null), with `changes` applied; a deep copy."""
    return _changed(_body("create_container"), changes)


def admin_container(**changes: Any) -> dict[str, Any]:
    """An admin's view of a created container (with `host` and the other
    admin-only fields), with `changes` applied; a deep copy."""
    return _changed(_body("show_container_as_admin", "admin"), changes)


def container_in_error(**changes: Any) -> dict[str, Any]:
    """The member's view of a container whose image does not exist (status
    Error, "Image X could not be found."), with `changes` applied."""
    return _changed(_body("show_container_in_error"), changes)


#: The recorded container's uuid (create, show, list, actions, execute, logs).
UUID: str = container()["uuid"]
#: Execute's answers: a command that succeeded, and one that exited 7.
EXECUTE: dict[str, Any] = _body("execute_command")
EXECUTE_FAILING: dict[str, Any] = _body("execute_command_failing")
#: The logs: pecan's json expose renders the text as a JSON string.
LOGS: str = _body("get_container_logs")
HOSTS: dict[str, Any] = _body("list_hosts", "admin")
#: The host the recording's admin placed a container on and declared full.
HOST: str = HOSTS["hosts"][0]["hostname"]
SERVICE_DISABLED: dict[str, Any] = _body("disable_service", "admin")
SERVICE_ENABLED: dict[str, Any] = _body("enable_service", "admin")


def error(status: int, detail: str, code: str = "container-not-found") -> dict[str, Any]:
    """An error document in the recorded shape (the member's show of a
    missing container), with `status`, `detail` (Zun repeats it as the
    title) and `code` (`container.` prefixed unless given)."""
    document: dict[str, Any] = _body("show_missing_container")
    (entry,) = document["errors"]
    entry.update(
        status=status,
        title=detail,
        detail=detail,
        code=code if code.startswith("container.") else f"container.{code}",
    )
    return document
