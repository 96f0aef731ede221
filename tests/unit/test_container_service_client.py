"""The container service clients, offline: every call the plugin's tests
make, against responses in the API reference's shapes, including errors.
Only the HTTP transport is replaced; URL building, headers, tempest.lib's
error checking and the response schemas all run for real."""

from __future__ import annotations

import json

import pytest
from tempest.lib import exceptions as lib_exc
from tempest.tests.lib import fake_auth_provider, fake_http

from tempest_plugin.services.container_service import (
    ContainersClient,
    HostsClient,
    ServicesClient,
)
from tests.fakes import container_service_samples as samples

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
    client = client_class(auth, "container", "RegionOne", api_microversion="1.39")
    transport = Transport()
    client.http_obj = transport
    return client, transport


@pytest.fixture
def containers():
    return make(ContainersClient)


def test_create_sends_the_body_and_the_microversion(containers):
    client, transport = containers
    transport.answer(202, samples.container())
    body = client.create_container(name="test", image="ubuntu", host="host1")
    assert body["uuid"] == samples.UUID and body["status"] == "Creating"
    sent = transport.requests[0]
    assert (sent["method"], sent["url"]) == ("POST", "v1/containers")
    assert json.loads(sent["body"]) == {"name": "test", "image": "ubuntu", "host": "host1"}
    assert sent["headers"]["OpenStack-API-Version"] == "container 1.39"


def test_show_and_list(containers):
    client, transport = containers
    transport.answer(200, samples.container(status="Running", host="host1"))
    transport.answer(200, {"containers": [samples.container()], "next": None})
    assert client.show_container("test")["status"] == "Running"
    listed = client.list_containers(limit=10)["containers"]
    assert [c["uuid"] for c in listed] == [samples.UUID]
    assert transport.requests[0]["url"] == "v1/containers/test"
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
    result = client.execute_command(samples.UUID, "date")
    assert (result["output"], result["exit_code"]) == (samples.EXECUTE["output"], 0)
    assert transport.requests[0]["url"] == (
        f"v1/containers/{samples.UUID}/execute?command=date&run=true"
    )


def test_logs_are_text(containers):
    client, transport = containers
    transport.answer(200, "CCI-BOOT-OK boot=1\n")  # pecan's json expose: a JSON string
    transport.answer(200, b"plain text\n", "text/plain")
    assert client.get_container_logs(samples.UUID).data == "CCI-BOOT-OK boot=1\n"
    assert client.get_container_logs(samples.UUID, stderr=False).data == "plain text\n"
    assert transport.requests[1]["url"].endswith("/logs?stdout=true&stderr=false")


def test_hosts_and_declaring_a_host_full():
    hosts, transport = make(HostsClient)
    transport.answer(200, samples.HOSTS)
    assert hosts.list_hosts()["hosts"][0]["hostname"] == "testhost"
    services, transport = make(ServicesClient)
    transport.answer(200, samples.SERVICE_DISABLED)
    transport.answer(200, samples.SERVICE_ENABLED)
    assert services.disable_service("host1", disabled_reason="abc")["service"]["disabled"]
    assert not services.enable_service("host1")["service"]["disabled"]
    disable, enable = transport.requests
    # In the query string, where Zun reads them (its API reference says body).
    assert (disable["method"], disable["url"]) == (
        "PUT",
        "v1/services/disable?host=host1&binary=zun-compute&disabled_reason=abc",
    )
    assert (enable["method"], enable["url"]) == (
        "PUT",
        "v1/services/enable?host=host1&binary=zun-compute",
    )
    assert not disable["body"] and not enable["body"]


def test_a_member_sees_no_host(containers):
    """Zun strips `host` from a container for a non-admin (policy
    container:get_one:host is admin-only): the schema must not require it."""
    client, transport = containers
    shown = samples.container()
    del shown["host"]
    transport.answer(200, shown)
    assert "host" not in client.show_container(samples.UUID)


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
    document = samples.error(status, "Error", f"the service said {status}")
    transport.answer(status, document)
    with pytest.raises(exception) as raised:
        getattr(client, call)(*args)
    # tempest.lib unwraps a one-key document: the service's list of errors.
    assert raised.value.resp_body[0]["detail"] == f"the service said {status}"


def test_service_disable_needs_admin():
    services, transport = make(ServicesClient)
    transport.answer(403, samples.error(403, "Forbidden", "Policy doesn't allow it"))
    with pytest.raises(lib_exc.Forbidden):
        services.disable_service("host1")


def test_a_response_missing_a_field_fails_the_schema(containers):
    client, transport = containers
    broken = samples.container()
    del broken["status"]
    transport.answer(200, broken)
    with pytest.raises(lib_exc.InvalidHTTPResponseBody, match="status"):
        client.show_container(samples.UUID)


def test_a_wrong_success_code_is_caught(containers):
    client, transport = containers
    transport.answer(200, samples.container())  # create must answer 202
    with pytest.raises(lib_exc.InvalidHttpSuccessCode):
        client.create_container(image="ubuntu")
