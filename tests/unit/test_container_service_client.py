"""The container service clients, offline: every call the plugin's tests
make, against the answers a real Zun 18 gave (container_service_recorded.json,
read through tests/fakes/container_service_samples.py), errors included.
Only the HTTP transport is replaced; URL building, headers, tempest.lib's
error checking and the response schemas all run for real."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tempest.lib import exceptions as lib_exc
from tempest.tests.lib import fake_auth_provider, fake_http

from tempest_plugin.api_schema.container_service.v1 import containers as schema
from tempest_plugin.services.container_service import (
    ContainersClient,
    HostsClient,
    ServicesClient,
)
from tempest_plugin.services.container_service.containers_client import DEFAULT_MICROVERSION
from tests.fakes import container_service_samples as samples
from tests.fakes import record_container_service

BASE = "https://container.example.com"  # the fake auth provider leaves URLs relative


class Transport:
    """Stands in for the urllib3 pool: records requests, answers from a queue."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, object, str]] = []

    def answer(self, status: int, body=None, content_type: str = "application/json") -> None:
        self.answers.append((status, body, content_type))

    def request(self, url, method, headers=None, body=None, **_kwargs):
        self.requests.append({"url": url, "method": method, "headers": headers, "body": body})
        status, payload, content_type = self.answers.pop(0)
        if payload is None:
            text = b""
        elif isinstance(payload, bytes):
            text = payload
        else:
            text = json.dumps(payload).encode()
        headers = {"content-type": content_type, "content-length": str(len(text))}
        return fake_http.fake_http_response(headers, status=status), text


def make(client_class):
    auth = fake_auth_provider.FakeAuthProvider(fake_base_url=BASE)
    client = client_class(auth, "container", "RegionOne")
    transport = Transport()
    client.http_obj = transport
    return client, transport


@pytest.fixture
def containers():
    return make(ContainersClient)


def test_the_recording_was_made_at_the_microversion_the_plugin_sends():
    service, version = record_container_service.MICROVERSION.split()
    assert (service, version) == ("container", DEFAULT_MICROVERSION)


def test_create_sends_the_body_and_the_microversion(containers):
    client, transport = containers
    transport.answer(202, samples.creating())
    body = client.create_container(name="cci-recorded", image="cci-guest-base-docker")
    assert body["uuid"] == samples.UUID and body["status"] == "Creating"
    sent = transport.requests[0]
    assert (sent["method"], sent["url"]) == ("POST", "v1/containers")
    assert json.loads(sent["body"]) == {"name": "cci-recorded", "image": "cci-guest-base-docker"}
    assert sent["headers"]["OpenStack-API-Version"] == f"container {DEFAULT_MICROVERSION}"


def test_create_on_a_host_sends_it():
    client, transport = make(ContainersClient)
    transport.answer(202, samples.recorded("create_container_on_host", "admin")[1])
    client.create_container(image="cci-guest-base-docker", host=samples.HOST)
    assert json.loads(transport.requests[0]["body"])["host"] == samples.HOST


def test_show_and_list(containers):
    client, transport = containers
    transport.answer(*samples.recorded("show_container"))
    transport.answer(*samples.recorded("list_containers"))
    assert client.show_container(samples.UUID)["status"] == "Created"
    listed = client.list_containers(limit=10)["containers"]
    assert [c["uuid"] for c in listed] == [samples.UUID]
    assert transport.requests[0]["url"] == f"v1/containers/{samples.UUID}"
    assert transport.requests[1]["url"] == "v1/containers?limit=10"


@pytest.mark.parametrize(
    ("call", "args", "path"),
    [
        ("start_container", (), "start"),
        ("stop_container", (), "stop"),
        ("stop_container", (5,), "stop?timeout=5"),
        ("reboot_container", (), "reboot"),
        ("pause_container", (), "pause"),
        ("unpause_container", (), "unpause"),
        ("rebuild_container", ("alpine",), "rebuild?image=alpine"),
    ],
)
def test_actions_post_and_expect_202(containers, call, args, path):
    client, transport = containers
    transport.answer(202, None)
    response = getattr(client, call)(samples.UUID, *args)
    assert response.response.status == 202
    sent = transport.requests[0]
    assert (sent["method"], sent["url"]) == ("POST", f"v1/containers/{samples.UUID}/{path}")


def test_an_action_answering_pecans_null_body_is_accepted(containers):
    client, transport = containers
    transport.answer(202, b"null")
    response = client.start_container(samples.UUID)
    assert response.response.status == 202 and dict(response) == {}
    assert transport.requests[0]["url"] == f"v1/containers/{samples.UUID}/start"


def test_delete_expects_204_and_passes_force_and_stop(containers):
    client, transport = containers
    transport.answer(204, None)
    client.delete_container(samples.UUID, force=True, stop=True)
    sent = transport.requests[0]
    assert sent["method"] == "DELETE"
    assert sent["url"] == f"v1/containers/{samples.UUID}?force=True&stop=True"


def test_execute_returns_output_and_exit_code(containers):
    client, transport = containers
    transport.answer(200, samples.EXECUTE)
    transport.answer(200, samples.EXECUTE_FAILING)
    result = client.execute_command(samples.UUID, "echo exec-ok")
    assert (result["output"], result["exit_code"]) == ("exec-ok\n", 0)
    # Zun 18 names the interactive session's address proxy_url (api-ref: url).
    assert "proxy_url" in result and "url" not in result
    assert client.execute_command(samples.UUID, "sh -c 'exit 7'")["exit_code"] == 7
    assert transport.requests[0]["url"] == (
        f"v1/containers/{samples.UUID}/execute?command=echo+exec-ok&run=true"
    )


def test_logs_are_text(containers):
    client, transport = containers
    transport.answer(200, samples.LOGS)  # pecan's json expose: a JSON string
    transport.answer(200, b"plain text\n", "text/plain")
    assert client.get_container_logs(samples.UUID).data == "hello-from-container\n"
    assert client.get_container_logs(samples.UUID, stderr=False).data == "plain text\n"
    assert transport.requests[1]["url"].endswith("/logs?stdout=true&stderr=false")


def test_hosts_and_declaring_a_host_full():
    hosts, transport = make(HostsClient)
    transport.answer(200, samples.HOSTS)
    assert hosts.list_hosts()["hosts"][0]["hostname"] == samples.HOST
    services, transport = make(ServicesClient)
    transport.answer(200, samples.SERVICE_DISABLED)
    transport.answer(200, samples.SERVICE_ENABLED)
    reason = "container-ci: declared full"
    disabled = services.disable_service(samples.HOST, disabled_reason=reason)["service"]
    assert disabled["disabled"] and disabled["disabled_reason"] == reason
    assert not services.enable_service(samples.HOST)["service"]["disabled"]
    disable, enable = transport.requests
    # In the query string, where Zun reads them (its API reference says body).
    assert (disable["method"], disable["url"]) == (
        "PUT",
        f"v1/services/disable?host={samples.HOST}&binary=zun-compute"
        "&disabled_reason=container-ci%3A+declared+full",
    )
    assert (enable["method"], enable["url"]) == (
        "PUT",
        f"v1/services/enable?host={samples.HOST}&binary=zun-compute",
    )
    assert not disable["body"] and not enable["body"]


def member_containers() -> list[tuple[str, dict[str, Any]]]:
    """Every container a member was shown in the recording: (exchange, view)."""
    found = []
    for exchange in samples.EXCHANGES:
        body = exchange["body"]
        if exchange["as"] != "member" or not isinstance(body, dict):
            continue
        for view in body.get("containers", [body] if "uuid" in body else []):
            found.append((exchange["name"], view))
    return found


def test_a_member_sees_no_host(containers):
    """Zun strips `host` (and image_pull_policy, privileged, runtime) from
    a container for a non-admin (policy container:get_one:host is
    admin-only): the member's samples lack them, as the recording does,
    and the schema must not require them."""
    views = member_containers()
    assert {name for name, _ in views} >= {"create_container", "show_container", "list_containers"}
    for name, view in views:
        assert not set(samples.ADMIN_ONLY_FIELDS) & view.keys(), name
    assert not set(samples.ADMIN_ONLY_FIELDS) & set(schema.container["required"])
    member = samples.container()
    assert "host" not in member and "host" not in samples.creating()
    client, transport = containers
    transport.answer(200, member)
    assert "host" not in client.show_container(samples.UUID)


def test_an_admin_sees_the_host(containers):
    admin = samples.admin_container()
    assert set(samples.ADMIN_ONLY_FIELDS) <= admin.keys()
    client, transport = containers
    transport.answer(200, admin)
    assert client.show_container(admin["uuid"])["host"] == samples.HOST


def test_a_list_carries_no_links_and_execute_no_url():
    """The two places the API reference's shapes had the schemas wrong."""
    _, listed = samples.recorded("list_containers")
    assert listed["containers"] and all("links" not in c for c in listed["containers"])
    assert "links" in samples.container()  # a show has them
    assert "url" not in samples.EXECUTE and "proxy_url" in samples.EXECUTE


# -- replaying the recording through the clients --------------------------
def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def _ident(path: str) -> str:
    return urlsplit(path).path.split("/")[3]


def _client_call(exchange: dict[str, Any]) -> tuple[type, str, tuple, dict]:
    """The plugin client's call that makes the recorded request."""
    name, path, request = exchange["name"], exchange["path"], exchange["request"]
    query = {key: values[0] for key, values in _query(path).items()}
    if name.startswith("create_container"):
        return ContainersClient, "create_container", (), request
    if name.startswith("show_"):
        return ContainersClient, "show_container", (_ident(path),), {}
    if name == "list_containers":
        return ContainersClient, "list_containers", (), {}
    if name in ("start_container", "stop_container", "reboot_container", "get_container_logs"):
        return ContainersClient, name, (_ident(path),), {}
    if name.startswith("execute_command"):
        return ContainersClient, "execute_command", (_ident(path), request["command"]), {}
    if name.startswith("delete_container"):
        options = {key: value == "True" for key, value in query.items()}
        return ContainersClient, "delete_container", (_ident(path),), options
    if name == "list_hosts":
        return HostsClient, "list_hosts", (), {}
    if name.startswith("disable_service"):
        return ServicesClient, "disable_service", (), request or query
    if name == "enable_service":
        return ServicesClient, "enable_service", (), query
    raise AssertionError(f"a recorded exchange no test replays: {name} ({path})")


ERRORS = {400: lib_exc.BadRequest, 403: lib_exc.Forbidden, 404: lib_exc.NotFound}


@pytest.mark.parametrize(
    "exchange",
    samples.EXCHANGES,
    ids=[f"{e['name']}-{e['as']}" for e in samples.EXCHANGES],
)
def test_the_clients_accept_every_recorded_answer(exchange):
    """Each recorded answer, fed to the client call that asked for it: a
    2xx passes the response schema and the expected status code (as the
    API reference's samples did, while Zun answered otherwise); an error
    raises tempest.lib's exception with the service's document."""
    client_class, call, args, kwargs = _client_call(exchange)
    client, transport = make(client_class)
    status, body = exchange["status"], exchange["body"]
    transport.answer(status, body)
    if status < 300:
        result = getattr(client, call)(*args, **kwargs)
        assert result.response.status == status
        if isinstance(body, str):
            assert result.data == body
        else:
            assert dict(result) == (body or {})
    else:
        with pytest.raises(ERRORS[status]) as raised:
            getattr(client, call)(*args, **kwargs)
        # tempest.lib unwraps a one-key document: the service's list of errors.
        assert raised.value.resp_body == body["errors"]
    sent = transport.requests[0]
    recorded_path = exchange["path"].lstrip("/")
    assert sent["method"] == exchange["method"]
    assert urlsplit(sent["url"]).path == urlsplit(recorded_path).path
    # Where the recorder used the query string, the client sends the same
    # (execute: the recorder sent the command in the body, the client in the
    # query, both as Zun takes it; logs: the client spells out the defaults).
    if _query(recorded_path) and call != "execute_command":
        assert _query(sent["url"]) == _query(recorded_path)


@pytest.mark.parametrize(
    ("name", "who", "exception", "code"),
    [
        ("show_missing_container", "member", lib_exc.NotFound, "container-not-found"),
        ("create_container_on_missing_host", "admin", lib_exc.NotFound, "requested-host-not-found"),
        ("disable_service_as_member", "member", lib_exc.Forbidden, "policy-not-authorized"),
    ],
)
def test_recorded_errors(name, who, exception, code):
    client_class, call, args, kwargs = _client_call(samples.exchange(name, who))
    client, transport = make(client_class)
    transport.answer(*samples.recorded(name, who))
    with pytest.raises(exception) as raised:
        getattr(client, call)(*args, **kwargs)
    (error,) = raised.value.resp_body
    assert error["code"] == f"container.{code}"
    assert error["detail"] == error["title"]


def test_a_missing_image_is_accepted_then_an_error():
    """No 404 on create: Zun takes the request (202), and the container
    goes to Error with the reason the target reads."""
    client, transport = make(ContainersClient)
    transport.answer(*samples.recorded("create_container_bad_image"))
    transport.answer(*samples.recorded("show_container_in_error"))
    created = client.create_container(image="container-ci-no-such-image")
    assert created["status"] == "Creating"
    shown = client.show_container(created["uuid"])
    assert shown["status"] == "Error"
    assert shown["status_reason"] == "Image container-ci-no-such-image could not be found."


@pytest.mark.parametrize(
    ("status", "exception", "call", "args"),
    [
        (404, lib_exc.NotFound, "show_container", ("missing",)),
        (404, lib_exc.NotFound, "delete_container", ("missing",)),
        (404, lib_exc.NotFound, "start_container", ("missing",)),
        (404, lib_exc.NotFound, "execute_command", ("missing", "date")),
        (404, lib_exc.NotFound, "get_container_logs", ("missing",)),
        (400, lib_exc.BadRequest, "create_container", ()),
        (409, lib_exc.Conflict, "stop_container", (samples.UUID,)),
        (409, lib_exc.Conflict, "delete_container", (samples.UUID,)),
        (403, lib_exc.Forbidden, "create_container", ()),
    ],
)
def test_error_responses_raise_tempest_exceptions(containers, status, exception, call, args):
    client, transport = containers
    document = samples.error(status, f"the service said {status}", code="some-error")
    transport.answer(status, document)
    with pytest.raises(exception) as raised:
        getattr(client, call)(*args)
    # tempest.lib unwraps a one-key document: the service's list of errors.
    assert raised.value.resp_body[0]["detail"] == f"the service said {status}"
    assert raised.value.resp_body[0]["code"] == "container.some-error"


def test_a_response_missing_a_field_fails_the_schema(containers):
    client, transport = containers
    broken = samples.container()
    del broken["status"]
    transport.answer(200, broken)
    with pytest.raises(lib_exc.InvalidHTTPResponseBody, match="status"):
        client.show_container(samples.UUID)


def test_a_wrong_success_code_is_caught(containers):
    client, transport = containers
    transport.answer(200, samples.creating())  # create must answer 202
    with pytest.raises(lib_exc.InvalidHttpSuccessCode):
        client.create_container(image="cci-guest-base-docker")


def test_the_samples_are_copies():
    samples.container()["status"] = "Changed"
    samples.recorded("list_hosts", "admin")[1]["hosts"].clear()
    assert samples.container()["status"] == "Created"
    assert samples.recorded("list_hosts", "admin")[1]["hosts"]
    with pytest.raises(KeyError, match="list_hosts"):
        samples.recorded("list_hosts", "member")  # never recorded: a member may not list hosts
