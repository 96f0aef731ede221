"""`container-ci devstack-config --driver lxc`: the local.conf a developer
needs to reproduce a tempest job by hand, made from the job's own variables
in zuul.d/ (devstack_localrc, devstack_services, devstack_plugins,
devstack_local_conf), merged with its parents' as Zuul merges them. One
source: editing the job changes what this prints."""

from __future__ import annotations

from pathlib import Path

from container_ci.errors import BadInput
from container_ci.zuul.check import effective_vars
from container_ci.zuul.config import load_config

# The devstack jobs. Docker has none: nova-docker was retired in 2017; its
# job is nova-docker-tempest-local, the local cloud with no devstack.
JOB_OF_DRIVER = {
    "lxc": "nova-lxc-tempest",
    "container-service": "container-service-tempest",
}

# What devstack's own Zuul base job sets and a hand-made local.conf needs.
BASE_LOCALRC = {
    "ADMIN_PASSWORD": "secretadmin",
    "DATABASE_PASSWORD": "secretdatabase",
    "RABBIT_PASSWORD": "secretrabbit",
    "SERVICE_PASSWORD": "secretservice",
}


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def local_conf(zuul_dir: Path, driver: str) -> str:
    if driver not in JOB_OF_DRIVER:
        raise BadInput(f"unknown driver {driver!r}; drivers: {', '.join(JOB_OF_DRIVER)}")
    job = JOB_OF_DRIVER[driver]
    config = load_config([zuul_dir])
    if job not in config.named("job"):
        raise BadInput(f"{zuul_dir}: no job {job!r}")
    variables = effective_vars(config, job)
    lines = [
        f"# local.conf for devstack, made from the Zuul job {job} in {zuul_dir}",
        "# (container-ci devstack-config --driver " + driver + ")",
        "[[local|localrc]]",
    ]
    lines += [f"{key}={value}" for key, value in BASE_LOCALRC.items()]
    localrc = variables.get("devstack_localrc") or {}
    lines += [f"{key}={_value(value)}" for key, value in localrc.items()]
    for name, url in (variables.get("devstack_plugins") or {}).items():
        lines.append(f"enable_plugin {name} {url}")
    for service, enabled in (variables.get("devstack_services") or {}).items():
        lines.append(f"{'enable' if enabled else 'disable'}_service {service}")
    for phase, files in (variables.get("devstack_local_conf") or {}).items():
        for target, sections in files.items():
            lines.append(f"[[{phase}|{target}]]")
            for section, options in sections.items():
                lines.append(f"[{section}]")
                lines += [f"{key} = {_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"
