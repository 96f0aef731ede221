"""Response schemas of the container service API (v1), from its API reference
(Zun's api-ref: containers, hosts, services), corrected where a real Zun 18
answered otherwise (`host` for admins only, no `links` in a list, `proxy_url`
for `url`; tests/fakes/container_service_recorded.json has its answers). Checked on every response,
as Tempest's own clients do: a field the tests rely on that goes missing, or
changes type, fails the call."""

_nullable_string = {"type": ["string", "null"]}

link = {
    "type": "object",
    "properties": {"href": {"type": "string", "format": "uri"}, "rel": {"type": "string"}},
    "required": ["href", "rel"],
}

STATUSES = [
    "Error",
    "Running",
    "Stopped",
    "Paused",
    "Unknown",
    "Creating",
    "Created",
    "Deleted",
    "Deleting",
    "Rebuilding",
    "Dead",
    "Restarting",
]

container = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string", "format": "uuid"},
        "name": _nullable_string,
        "image": {"type": "string"},
        "status": {"type": "string", "enum": STATUSES},
        "status_reason": _nullable_string,
        "status_detail": _nullable_string,
        "task_state": _nullable_string,
        # Shown to admins only (Zun's policy container:get_one:host, like
        # image_pull_policy, privileged and runtime): absent for a member.
        "host": _nullable_string,
        "command": {"type": ["array", "string", "null"]},
        "labels": {"type": ["object", "null"]},
        # In the answer to a create and a show; a real Zun 18 leaves them out
        # of each container of a list.
        "links": {"type": "array", "items": link},
    },
    "required": ["uuid", "name", "image", "status", "status_reason", "task_state"],
}

create_container = {"status_code": [202], "response_body": container}
show_container = {"status_code": [200], "response_body": container}
list_containers = {
    "status_code": [200],
    "response_body": {
        "type": "object",
        "properties": {
            "containers": {"type": "array", "items": container},
            "next": _nullable_string,
        },
        "required": ["containers"],
    },
}
# Actions answer 202 with no body; delete 204.
container_action = {"status_code": [202]}
delete_container = {"status_code": [204]}
execute_command = {
    "status_code": [200],
    "response_body": {
        "type": "object",
        "properties": {
            "output": _nullable_string,
            "exit_code": {"type": ["integer", "null"]},
            "exec_id": _nullable_string,
            # Zun 18 answers `proxy_url` (null unless interactive); its API
            # reference says `url`.
            "proxy_url": _nullable_string,
        },
        "required": ["output", "exit_code", "exec_id"],
    },
}

host = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string", "format": "uuid"},
        "hostname": {"type": "string"},
        "total_containers": {"type": "integer"},
        "links": {"type": "array", "items": link},
    },
    "required": ["uuid", "hostname", "total_containers"],
}
list_hosts = {
    "status_code": [200],
    "response_body": {
        "type": "object",
        "properties": {"hosts": {"type": "array", "items": host}, "next": _nullable_string},
        "required": ["hosts"],
    },
}

service = {
    "type": "object",
    "properties": {
        "binary": {"type": "string"},
        "host": {"type": "string"},
        "disabled": {"type": "boolean"},
        "disabled_reason": _nullable_string,
    },
    "required": ["binary", "host", "disabled"],
}
update_service = {
    "status_code": [200],
    "response_body": {
        "type": "object",
        "properties": {"service": service},
        "required": ["service"],
    },
}
