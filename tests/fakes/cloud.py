"""A local HTTP server answering like a small OpenStack cloud, for the cloud
targets' offline tests.

A devstack cloud cannot run in these tests, so this serves the recorded
shapes of the APIs the targets call: Keystone v3 (version document, password
token with a catalog, X-Subject-Token), Nova v2.1 (version document, flavors,
servers with `OS-EXT-STS:task_state`, server actions, console output,
os-hypervisors), Glance v2 (images by id and by name, snapshots created by
`createImage`), and the container service v1 (containers, actions, execute,
logs, errors) in the shapes a real Zun 18 answered, taken from its recording
(container_service_samples.py reads container_service_recorded.json). State
changes complete at once; a Nova action leaves a task in progress for one
read, as Nova's API does; a container create answers Creating, and the next
read finds it settled."""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from container_ci.targets.container_service import CONTAINER_IMAGES
from tests.fakes import container_service_samples as container_samples

PROJECT_ID = "77a89a275765486d86144caad70825e4"
USER_ID = "0a9cdb65757b4216935e27f333d1c48b"
BOOT_MARKER = "CCI-BOOT-OK boot={n} image={image}\n"
CONTAINER_HOST = "node1"  # the container service's one compute host

NOVA_ACTIONS = {
    "reboot": ("rebooting", "ACTIVE", True),
    "os-stop": ("powering-off", "SHUTOFF", False),
    "os-start": ("powering-on", "ACTIVE", True),
    "pause": ("pausing", "PAUSED", False),
    "unpause": ("unpausing", "ACTIVE", False),
    "suspend": ("suspending", "SUSPENDED", False),
    "resume": ("resuming", "ACTIVE", False),
}


class FakeCloud:
    def __init__(self, hypervisor_type: str = "LXC", roles: tuple[str, ...] = ("member",)) -> None:
        self.hypervisor_type = hypervisor_type
        self.roles = roles
        self.servers: dict[str, dict] = {}
        self.images: dict[str, dict] = {}
        self.containers: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        for name in ("cci-guest-base", "cci-guest-alt"):
            self.add_image(name)
        # What `cloud up --with container-service` adds for the container
        # service's Glance image driver: `docker save` tarballs.
        for name in CONTAINER_IMAGES.values():
            self.add_image(name, {"container_format": "docker"})
        handler = type("Handler", (_Handler,), {"cloud": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeCloud:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_image(self, name: str, properties: dict | None = None) -> dict:
        image = {
            "id": str(uuid.uuid4()),
            "name": name,
            "status": "active",
            "owner": PROJECT_ID,
            "visibility": "public",
            "container_format": "bare",
            "disk_format": "raw",
            "min_disk": 0,
            "min_ram": 0,
            "size": 1048576,
            "tags": [],
            "protected": False,
            "created_at": "2026-11-25T06:00:00Z",
            "updated_at": "2026-11-25T06:00:00Z",
            "self": f"/v2/images/{name}",
            "file": f"/v2/images/{name}/file",
            "schema": "/v2/schemas/image",
            **(properties or {}),
        }
        self.images[image["id"]] = image
        return image

    def clouds_yaml(self, name: str = "fake") -> str:
        return self.clouds_yaml_for(self.url, name)

    @staticmethod
    def clouds_yaml_for(url: str, name: str) -> str:
        return (
            "clouds:\n"
            f"  {name}:\n"
            "    auth:\n"
            f"      auth_url: {url}/identity/v3\n"
            "      username: demo\n"
            "      password: secret\n"
            "      project_name: demo\n"
            "      user_domain_name: Default\n"
            "      project_domain_name: Default\n"
            "    region_name: RegionOne\n"
            "    identity_api_version: 3\n"
        )


class _Handler(BaseHTTPRequestHandler):
    cloud: FakeCloud
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    # -- plumbing ---------------------------------------------------------
    def _send(self, status: int, body=None, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def _route(self, method: str) -> None:
        parsed = urlparse(self.path)
        path, query = parsed.path.rstrip("/"), parse_qs(parsed.query)
        with self.cloud.lock:
            self.cloud.requests.append((method, self.path))
        for prefix, handler in (
            ("/identity", self._identity),
            ("/compute", self._compute),
            ("/image", self._image),
            ("/container", self._container),
        ):
            if path.startswith(prefix):
                with self.cloud.lock:
                    return handler(method, path[len(prefix) :], query)
        self._send(404, {"error": f"no route {path}"})

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")

    # -- keystone ---------------------------------------------------------
    def _identity(self, method: str, path: str, query) -> None:
        url = self.cloud.url
        if method == "GET" and path == "/v3":
            return self._send(
                200,
                {
                    "version": {
                        "id": "v3.14",
                        "status": "stable",
                        "updated": "2020-04-07T00:00:00Z",
                        "links": [{"rel": "self", "href": f"{url}/identity/v3/"}],
                        "media-types": [
                            {
                                "base": "application/json",
                                "type": "application/vnd.openstack.identity-v3+json",
                            }
                        ],
                    }
                },
            )
        if method == "POST" and path == "/v3/auth/tokens":
            self._body()

            def endpoint(service_type: str, name: str, path_: str) -> dict:
                return {
                    "id": uuid.uuid4().hex,
                    "type": service_type,
                    "name": name,
                    "endpoints": [
                        {
                            "id": uuid.uuid4().hex,
                            "interface": "public",
                            "region": "RegionOne",
                            "region_id": "RegionOne",
                            "url": f"{url}{path_}",
                        }
                    ],
                }

            domain = {"id": "default", "name": "Default"}
            token = {
                "token": {
                    "methods": ["password"],
                    "expires_at": "2099-01-01T00:00:00.000000Z",
                    "issued_at": "2026-11-25T06:00:00.000000Z",
                    "audit_ids": ["3T2dc1CGQxyJsHdDu1xkcw"],
                    "user": {"id": USER_ID, "name": "demo", "domain": domain},
                    "project": {"id": PROJECT_ID, "name": "demo", "domain": domain},
                    "roles": [{"id": uuid.uuid4().hex, "name": r} for r in self.cloud.roles],
                    "catalog": [
                        endpoint("identity", "keystone", "/identity"),
                        endpoint("compute", "nova", "/compute/v2.1"),
                        endpoint("image", "glance", "/image"),
                        endpoint("container", "zun", "/container"),
                    ],
                }
            }
            return self._send(201, token, {"X-Subject-Token": "fake-token"})
        self._send(404, {"error": {"code": 404, "message": "not found"}})

    # -- nova -------------------------------------------------------------
    def _server_view(self, server: dict) -> dict:
        view = dict(server)
        view["OS-EXT-STS:task_state"] = server["_task"].pop(0) if server["_task"] else None
        return {k: v for k, v in view.items() if not k.startswith("_")}

    def _compute(self, method: str, path: str, query) -> None:
        url = self.cloud.url
        if method == "GET" and path == "/v2.1":
            return self._send(
                200,
                {
                    "version": {
                        "id": "v2.1",
                        "status": "CURRENT",
                        "version": "2.96",
                        "min_version": "2.1",
                        "updated": "2013-07-23T11:33:21Z",
                        "links": [{"rel": "self", "href": f"{url}/compute/v2.1/"}],
                    }
                },
            )
        if method == "GET" and path == "/v2.1/flavors/detail":
            flavor = {
                "id": "c1",
                "name": "cci-tiny",
                "ram": 128,
                "vcpus": 1,
                "disk": 1,
                "OS-FLV-EXT-DATA:ephemeral": 0,
                "os-flavor-access:is_public": True,
                "rxtx_factor": 1.0,
                "swap": 0,
                "description": None,
                "extra_specs": {},
                "links": [],
            }
            return self._send(200, {"flavors": [flavor]})
        if method == "GET" and path == "/v2.1/os-hypervisors/detail":
            return self._send(
                200,
                {
                    "hypervisors": [
                        {
                            "id": str(uuid.uuid4()),
                            "hypervisor_hostname": "node1",
                            "hypervisor_type": self.cloud.hypervisor_type,
                            "hypervisor_version": 9000000,
                            "state": "up",
                            "status": "enabled",
                            "host_ip": "127.0.0.1",
                            "service": {"host": "node1", "id": str(uuid.uuid4())},
                        }
                    ]
                },
            )
        if method == "POST" and path == "/v2.1/servers":
            return self._create_server(self._body()["server"])
        if method == "GET" and path == "/v2.1/servers/detail":
            pattern = re.compile(query.get("name", [""])[0])
            servers = [
                self._server_view(s)
                for s in self.cloud.servers.values()
                if pattern.search(s["name"])
            ]
            return self._send(200, {"servers": servers})
        match = re.fullmatch(r"/v2\.1/servers/([^/]+)(/action)?", path)
        if match:
            server = self.cloud.servers.get(match.group(1))
            if server is None:
                message = f"Instance {match.group(1)} could not be found."
                return self._send(404, {"itemNotFound": {"code": 404, "message": message}})
            if match.group(2):
                return self._server_action(server, self._body())
            if method == "GET":
                return self._send(200, {"server": self._server_view(server)})
            if method == "DELETE":
                del self.cloud.servers[server["id"]]
                return self._send(204)
        self._send(404, {"itemNotFound": {"code": 404, "message": f"no route {path}"}})

    def _create_server(self, body: dict) -> None:
        image = self.cloud.images.get(body.get("imageRef", ""))
        if image is None:
            message = f"Image {body.get('imageRef')} could not be found."
            return self._send(400, {"badRequest": {"code": 400, "message": message}})
        server_id = str(uuid.uuid4())
        server = {
            "id": server_id,
            "name": body["name"],
            "status": "ACTIVE",
            "metadata": body.get("metadata", {}),
            "image": {"id": image["id"], "links": []},
            "flavor": {"original_name": "cci-tiny", "vcpus": 1, "ram": 128, "disk": 1},
            "tenant_id": PROJECT_ID,
            "user_id": USER_ID,
            "addresses": {},
            "links": [],
            "OS-EXT-STS:vm_state": "active",
            "OS-EXT-STS:power_state": 1,
            "created": "2026-11-25T06:00:00Z",
            "updated": "2026-11-25T06:00:00Z",
            "_task": ["spawning"],
            "_boots": 1,
            "_console": BOOT_MARKER.format(n=1, image=image["name"]),
        }
        self.cloud.servers[server_id] = server
        self._send(
            202,
            {
                "server": {
                    "id": server_id,
                    "links": [],
                    "OS-DCF:diskConfig": "MANUAL",
                    "security_groups": [{"name": "default"}],
                    "adminPass": "fake",
                }
            },
        )

    def _server_action(self, server: dict, body: dict) -> None:
        ((action, args),) = body.items()
        if action == "os-getConsoleOutput":
            return self._send(200, {"output": server["_console"]})
        if action in NOVA_ACTIONS:
            task, status, boots = NOVA_ACTIONS[action]
            server["status"], server["_task"] = status, [task]
            if boots:
                server["_boots"] += 1
                server["_console"] += BOOT_MARKER.format(n=server["_boots"], image="?")
            return self._send(202)
        if action == "rebuild":
            server["image"] = {"id": args["imageRef"], "links": []}
            server["_task"] = ["rebuilding"]
            return self._send(202, {"server": self._server_view(server)})
        if action == "createImage":
            image = self.cloud.add_image(args["name"], args.get("metadata"))
            return self._send(
                202, {"image_id": image["id"]}, {"Location": f"/images/{image['id']}"}
            )
        self._send(400, {"badRequest": {"code": 400, "message": f"unknown action {action}"}})

    # -- glance -----------------------------------------------------------
    def _image(self, method: str, path: str, query) -> None:
        url = self.cloud.url
        if method == "GET" and path == "":
            version = {
                "id": "v2.16",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": f"{url}/image/v2/"}],
            }
            return self._send(300, {"versions": [version]})
        if method == "GET" and path == "/v2/images":
            images = list(self.cloud.images.values())
            for key in ("name", "owner"):
                if key in query:
                    wanted = _glance_filter(query[key][0])
                    if wanted is None:  # Glance reads "x:..." as operator x (recorded reply)
                        operator = query[key][0].split(":", 1)[0]
                        return self._send(
                            400, f"Unable to filter by unknown operator '{operator}'."
                        )
                    images = [i for i in images if i.get(key) in wanted]
            return self._send(
                200, {"images": images, "schema": "/v2/schemas/images", "first": "/v2/images"}
            )
        match = re.fullmatch(r"/v2/images/([^/]+)", path)
        if match:
            image = self.cloud.images.get(match.group(1))
            if image is None:
                return self._send(
                    404,
                    {"message": "No image found", "code": "404 Not Found", "title": "Not Found"},
                )
            if method == "GET":
                return self._send(200, image)
            if method == "DELETE":
                del self.cloud.images[image["id"]]
                return self._send(204)
        self._send(404, {"message": f"no route {path}"})

    # -- container service ------------------------------------------------
    # In the shapes a real Zun 18 answered (container_service_samples, read
    # from container_service_recorded.json): a member sees no `host`,
    # `image_pull_policy`, `privileged` or `runtime`; a list's containers have
    # no `links`; execute answers `proxy_url`; errors are Zun's `{"errors":
    # [...]}` with `container.*` codes. A create answers Creating and has
    # settled by the next read: Created, or for an image the cloud lacks
    # Error with Zun's "Image X could not be found.".
    def _container_error(self, status: int, detail: str, code: str) -> None:
        self._send(status, container_samples.error(status, detail, code))

    def _create_container(self, body: dict) -> None:
        image, host = body["image"], body.get("host")
        if host is not None and host != CONTAINER_HOST:
            return self._container_error(
                404, f"Requested host {host} could not be found.", "requested-host-not-found"
            )
        ident = str(uuid.uuid4())
        url = self.cloud.url + "/container"
        given = {
            "uuid": ident,
            "name": body.get("name") or f"{ident[:8]}-container",
            "image": image,
            "labels": body.get("labels"),
            "command": body.get("command"),
            "project_id": PROJECT_ID,
            "user_id": USER_ID,
            "links": [
                {"href": f"{url}/v1/containers/{ident}", "rel": "self"},
                {"href": f"{url}/containers/{ident}", "rel": "bookmark"},
            ],
        }
        if image in {i["name"] for i in self.cloud.images.values()}:
            shown = container_samples.container(hostname=ident.replace("-", "")[:12])
        else:
            reason = f"Image {image} could not be found."
            shown = container_samples.container_in_error(status_reason=reason)
        admin = container_samples.admin_container()
        container = {
            **shown,
            **given,
            "labels": given["labels"] or {},
            "command": given["command"] or [],
            "_admin": {k: admin[k] for k in container_samples.ADMIN_ONLY_FIELDS},
            "_log": "",
            "_boots": 0,
        }
        container["_admin"]["host"] = CONTAINER_HOST
        self.cloud.containers[ident] = container
        if self._admin:
            _, answer = container_samples.recorded("create_container_on_host", "admin")
            answer.update(given)
        else:
            answer = container_samples.creating(**given)
        self._send(202, answer)

    def _container(self, method: str, path: str, query) -> None:
        if path == "/v1/containers" and method == "GET":
            views = [self._container_view(c) for c in self.cloud.containers.values()]
            for view in views:
                del view["links"]
            return self._send(200, {"containers": views, "next": None})
        if path == "/v1/containers" and method == "POST":
            return self._create_container(self._body())
        match = re.fullmatch(r"/v1/containers/([^/]+)(?:/([a-z_]+))?", path)
        if match is None:
            return self._container_error(404, f"no route {path}", "not-found")
        container = self.cloud.containers.get(match.group(1))
        if container is None:
            return self._container_error(
                404, f"Container {match.group(1)} could not be found.", "container-not-found"
            )
        action = match.group(2)
        if action is None and method == "GET":
            return self._send(200, self._container_view(container))
        if action is None and method == "DELETE":
            del self.cloud.containers[container["uuid"]]
            return self._send(204)
        transitions = {
            "start": "Running",
            "stop": "Stopped",
            "reboot": "Running",
            "pause": "Paused",
            "unpause": "Running",
            "rebuild": "Running",
        }
        if action in transitions:
            if action in ("start", "reboot"):  # the harness's guest image prints this
                container["_boots"] += 1
                container["_log"] += BOOT_MARKER.format(n=container["_boots"], image="?")
            if action == "rebuild":
                container["image"] = query["image"][0]
            container["status"] = transitions[action]
            return self._send(202)
        if action == "execute":
            command = query["command"][0]
            answers = {  # what the harness's guest image answers
                "cat /etc/cci-image": _variant(container["image"]) + "\n",
                "cat /var/lib/cci/boot-count": f"{container['_boots']}\n",
            }
            result = dict(container_samples.EXECUTE, output=f"ran: {command}\n", exit_code=0)
            if command in answers:
                result["output"] = answers[command]
            elif command.startswith("sh -c 'exit "):
                result.update(output="", exit_code=int(command.split()[-1].strip("'")))
            return self._send(200, result)
        if action == "logs":
            return self._send(200, container["_log"])  # a JSON string, as Zun's
        self._container_error(400, f"unknown action {action}", "invalid")

    @property
    def _admin(self) -> bool:
        return "admin" in self.cloud.roles

    def _container_view(self, container: dict) -> dict:
        view = {k: v for k, v in container.items() if not k.startswith("_")}
        if self._admin:  # Zun's policy: these for admins only
            view.update(container["_admin"])
        return view


def _variant(image: str) -> str:
    """The guest image's variant (base, alt), as its /etc/cci-image says."""
    return image.removesuffix("-docker").rsplit("-", 1)[-1]


def _glance_filter(value: str) -> set[str] | None:
    """The names a Glance list filter selects: `in:"a:b","c"` or a plain
    value; None for "x:y" with an operator Glance does not know."""
    if value.startswith("in:"):
        return {part.strip('"') for part in re.findall(r'"[^"]*"|[^,]+', value[3:])}
    if ":" in value:
        return None
    return {value}
