"""Response bodies of the container service API in the shapes of its API
reference (Zun api-ref: samples/container-create-resp.json,
container-execute-resp.json, host-get-all-resp.json, service-disable-resp.json,
and the `{"errors": [...]}` document of its parsable-error middleware)."""

from __future__ import annotations

import copy

UUID = "b0694d40-70af-4488-b104-10f66b593347"

CONTAINER = {
    "addresses": None,
    "links": [
        {"href": f"http://openstack.example.com/v1/containers/{UUID}", "rel": "self"},
        {"href": f"http://openstack.example.com/containers/{UUID}", "rel": "bookmark"},
    ],
    "image": "ubuntu",
    "labels": {"app": "hello"},
    "security_groups": ["7e4eae5d-8b7b-4673-91b3-70dfb577e620"],
    "uuid": UUID,
    "environment": {"foo": "bar"},
    "memory": "500",
    "status": "Creating",
    "workdir": "/home/ubuntu",
    "status_detail": None,
    "host": None,
    "image_driver": "docker",
    "task_state": None,
    "status_reason": None,
    "name": "test",
    "restart_policy": {"MaximumRetryCount": "0", "Name": "no"},
    "ports": None,
    "command": ["/bin/sh", "-c", "'echo hello'"],
    "cpu": 2.0,
    "interactive": False,
    "tty": False,
    "runtime": "runc",
    "hostname": "testhost",
    "auto_remove": False,
    "auto_heal": False,
    "privileged": False,
    "disk": 0,
    "user_id": "0a9cdb65757b4216935e27f333d1c48b",
    "project_id": "77a89a275765486d86144caad70825e4",
    "cpu_policy": "shared",
    "registry_id": None,
    "healthcheck": {
        "test": "stat /etc/passwd || exit 1",
        "interval": 3,
        "retries": 2,
        "timeout": 5,
    },
}


def container(**changes) -> dict:
    body = copy.deepcopy(CONTAINER)
    body.update(changes)
    return body


EXECUTE = {"output": "Mon Oct  9 09:09:32 UTC 2017\n", "exit_code": 0, "exec_id": None, "url": None}

HOSTS = {
    "hosts": [
        {
            "hostname": "testhost",
            "uuid": "d0405f06-101e-4340-8735-d1bf9fa8b8ad",
            "links": [
                {
                    "href": "http://192.168.2.200:9517/v1/hosts/d0405f06-101e-4340-8735-d1bf9fa8b8ad",
                    "rel": "self",
                }
            ],
            "kernel_version": "4.4.0-109-generic",
            "labels": {"type": "test"},
            "cpus": 48,
            "mem_used": 512,
            "disk_total": 16,
            "mem_total": 128446,
            "total_containers": 2,
            "cpu_used": 0.2,
            "disk_used": 10,
            "os_type": "linux",
            "architecture": "x86_64",
            "os": "CentOS Linux 7 (Core)",
        }
    ],
    "next": None,
}

SERVICE_DISABLED = {
    "service": {
        "disabled": True,
        "binary": "zun-compute",
        "host": "host1",
        "disabled_reason": "abc",
    }
}
SERVICE_ENABLED = {
    "service": {
        "disabled": False,
        "binary": "zun-compute",
        "host": "host1",
        "disabled_reason": None,
    }
}


def error(status: int, title: str, detail: str, code: str = "") -> dict:
    return {
        "errors": [
            {
                "request_id": "",
                "code": f"container.{code}",
                "status": status,
                "title": title,
                "detail": detail,
                "links": [],
            }
        ]
    }
