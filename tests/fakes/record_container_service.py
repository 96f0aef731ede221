"""Record what a real Zun answers, for the offline tests' fake.

    container-ci cloud up --with container-service
    python -m tests.fakes.record_container_service   # rewrites container_service_recorded.json

Each exchange the plugin's clients make, as the member user and as admin, at
the microversion the plugin sends: method, path, status and body as they came
back (so the fake answers in the real service's shapes, not the API
reference's). Ids and times are the recording's; nothing secret is in them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openstack

from container_ci.cloud import bootstrap
from container_ci.cloud.layout import REGION, Layout
from container_ci.tempest_conf import CONTAINER_IMAGE

OUTPUT = Path(__file__).with_name("container_service_recorded.json")
MICROVERSION = "container 1.40"  # tempest_plugin.config's api_microversion default
ENDPOINT = {"service_type": "container", "interface": "public"}


class Recorder:
    def __init__(self) -> None:
        layout = Layout.default()
        state = bootstrap.CloudState.load_or_create(layout)
        self.sessions = {
            "admin": bootstrap.admin_connection(layout, state).session,
            "member": openstack.connect(
                load_yaml_config=False,
                load_envvars=False,
                auth_url=layout.url("keystone", "/v3"),
                username=bootstrap.DEMO_USER,
                password=state.password,
                project_name=bootstrap.DEMO_PROJECT,
                user_domain_name="Default",
                project_domain_name="Default",
                region_name=REGION,
            ).session,
        }
        self.exchanges: list[dict[str, Any]] = []

    def call(
        self, who: str, name: str, method: str, path: str, body: object = None, keep: bool = True
    ) -> Any:
        response = self.sessions[who].request(
            path,
            method,
            json=body,
            endpoint_filter=ENDPOINT,
            headers={"OpenStack-API-Version": MICROVERSION},
            raise_exc=False,
        )
        try:
            answer = response.json() if response.content else None
        except ValueError:
            answer = response.text
        if keep:
            self.exchanges.append(
                {
                    "name": name,
                    "as": who,
                    "method": method,
                    "path": path,
                    "request": body,
                    "status": response.status_code,
                    "body": answer,
                }
            )
        return answer

    def wait(self, who: str, uuid: str, wanted: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.call(who, "", "GET", f"/v1/containers/{uuid}", keep=False)
            if shown["status"] in (wanted, "Error") or time.monotonic() > deadline:
                return dict(shown)
            time.sleep(0.5)

    def gone(self, who: str, uuid: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.sessions[who].get(
                f"/v1/containers/{uuid}", endpoint_filter=ENDPOINT, raise_exc=False
            )
            if response.status_code == 404:
                return
            time.sleep(0.5)


def record() -> list[dict[str, Any]]:
    r = Recorder()
    new = {"name": "cci-recorded", "image": CONTAINER_IMAGE,
           "command": ["sh", "-c", "echo hello-from-container; sleep 3600"]}  # fmt: skip
    created = r.call("member", "create_container", "POST", "/v1/containers", new)
    uuid = created["uuid"]
    shown = r.wait("member", uuid, "Created")
    r.call("member", "show_container", "GET", f"/v1/containers/{uuid}")
    r.call("member", "list_containers", "GET", "/v1/containers")
    r.call("member", "start_container", "POST", f"/v1/containers/{uuid}/start")
    shown = r.wait("member", uuid, "Running")
    assert shown["status"] == "Running", shown
    r.call("member", "execute_command", "POST",
           f"/v1/containers/{uuid}/execute?run=true&interactive=false",
           {"command": "echo exec-ok"})  # fmt: skip
    r.call("member", "execute_command_failing", "POST",
           f"/v1/containers/{uuid}/execute?run=true&interactive=false",
           {"command": "sh -c 'exit 7'"})  # fmt: skip
    r.call("member", "get_container_logs", "GET", f"/v1/containers/{uuid}/logs")
    r.call("member", "reboot_container", "POST", f"/v1/containers/{uuid}/reboot")
    r.wait("member", uuid, "Running")
    r.call("member", "stop_container", "POST", f"/v1/containers/{uuid}/stop")
    r.wait("member", uuid, "Stopped")
    r.call("member", "delete_container", "DELETE", f"/v1/containers/{uuid}?force=True&stop=True")
    r.gone("member", uuid)
    r.call("member", "show_missing_container", "GET", "/v1/containers/container-ci-no-such")
    bad = r.call("member", "create_container_bad_image", "POST", "/v1/containers",
                 {"image": "container-ci-no-such-image"})  # fmt: skip
    r.wait("member", bad["uuid"], "Error")
    r.call("member", "show_container_in_error", "GET", f"/v1/containers/{bad['uuid']}")
    r.call("member", "delete_container_in_error", "DELETE", f"/v1/containers/{bad['uuid']}")
    r.gone("member", bad["uuid"])
    hosts = r.call("admin", "list_hosts", "GET", "/v1/hosts")
    host = hosts["hosts"][0]["hostname"]
    placed = r.call("admin", "create_container_on_host", "POST", "/v1/containers",
                    {"image": CONTAINER_IMAGE, "host": host})  # fmt: skip
    r.wait("admin", placed["uuid"], "Created")
    r.call("admin", "show_container_as_admin", "GET", f"/v1/containers/{placed['uuid']}")
    r.call("admin", "list_containers", "GET", "/v1/containers")
    r.call("admin", "delete_container_as_admin", "DELETE", f"/v1/containers/{placed['uuid']}")
    r.gone("admin", placed["uuid"])
    r.call("admin", "create_container_on_missing_host", "POST", "/v1/containers",
           {"image": CONTAINER_IMAGE, "host": "container-ci-no-such-host"})  # fmt: skip
    query = f"host={host}&binary=zun-compute"
    reason = "disabled_reason=container-ci%3A+declared+full"
    r.call("admin", "disable_service", "PUT", f"/v1/services/disable?{query}&{reason}")
    r.call("admin", "enable_service", "PUT", f"/v1/services/enable?{query}")
    r.call("admin", "disable_service_body_only", "PUT", "/v1/services/disable",
           {"host": host, "binary": "zun-compute"})  # fmt: skip
    r.call("admin", "enable_service", "PUT", f"/v1/services/enable?{query}", keep=False)
    r.call("member", "disable_service_as_member", "PUT", f"/v1/services/disable?{query}")
    return r.exchanges


def main() -> None:
    exchanges = record()
    OUTPUT.write_text(json.dumps(exchanges, indent=1, sort_keys=True) + "\n")
    print(f"{OUTPUT}: {len(exchanges)} exchanges recorded")


if __name__ == "__main__":
    main()
