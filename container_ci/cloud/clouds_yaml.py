"""The `container-ci-local` entry of the user's clouds.yaml, so the nova target,
the tox tempest envs and `openstack --os-cloud container-ci-local` find the
local cloud with no further set-up. Other entries are left as they were."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from container_ci.atomic import write_text_atomically
from container_ci.cloud.layout import CLOUD_NAME, REGION, Layout
from container_ci.yaml_source import load_yaml


def clouds_yaml_path() -> Path:
    """The first place openstacksdk looks that a user owns."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "openstack" / "clouds.yaml"


def entry(layout: Layout, password: str) -> dict[str, Any]:
    return {
        "auth": {
            "auth_url": layout.url("keystone", "/v3"),
            "username": "admin",
            "password": password,
            "project_name": "admin",
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": REGION,
        "identity_api_version": 3,
        "interface": "public",
    }


def write_entry(layout: Layout, password: str, path: Path | None = None) -> Path:
    path = path or clouds_yaml_path()
    yaml = YAML()  # round-trip: the user's comments and order survive
    # within input_bounds; bad YAML is one line naming file:line
    document = load_yaml(path) if path.exists() else None
    if not isinstance(document, dict):
        document = {}
    clouds = document.setdefault("clouds", {})
    wanted = entry(layout, password)
    if clouds.get(CLOUD_NAME) == wanted:
        return path
    clouds[CLOUD_NAME] = wanted
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, buffer.getvalue(), mode=0o600)  # it holds the admin password
    return path


def remove_entry(path: Path | None = None) -> None:
    path = path or clouds_yaml_path()
    if not path.exists():
        return
    yaml = YAML()
    document = load_yaml(path)
    if isinstance(document, dict) and CLOUD_NAME in (document.get("clouds") or {}):
        del document["clouds"][CLOUD_NAME]
        buffer = io.StringIO()
        yaml.dump(document, buffer)
        write_text_atomically(path, buffer.getvalue(), mode=0o600)
