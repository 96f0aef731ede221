"""The local cloud's parts that need no running service: pid files that
survive pid reuse, stopping only what we started, the generated
configuration, and the clouds.yaml entry merged into a user's file."""

from __future__ import annotations

import configparser
import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from container_ci import tempest_conf
from container_ci.cloud import clouds_yaml, configs, lifecycle, network, processes, zun
from container_ci.cloud.layout import CLOUD_NAME, PORTS, Layout
from container_ci.cloud.services import SERVICES, in_uts_namespace, program_argv, services_of


def test_a_pid_file_names_only_the_process_it_recorded(tmp_path):
    pidfile = tmp_path / "sleeper.pid"
    pid = processes.spawn(["sleep", "60"], pidfile, tmp_path / "sleeper.log")
    try:
        assert processes.read_pid(pidfile) == pid
        recorded_pid, started = pidfile.read_text().split()
        # Same pid, another start time: a recycled pid is not ours.
        pidfile.write_text(f"{recorded_pid} {int(started) + 1}\n")
        assert processes.read_pid(pidfile) is None
        assert processes.stop(pidfile, timeout=5) is None  # and is never signalled
        assert not processes.exited(pid)
        processes.write_pid(pidfile, pid)
        assert processes.stop(pidfile, timeout=5) == pid
        assert processes.exited(pid)
        assert not pidfile.exists()
    finally:
        subprocess.run(["kill", "-9", str(pid)], capture_output=True)


def test_stop_kills_what_ignores_sigterm_after_the_timeout(tmp_path):
    pidfile = tmp_path / "stubborn.pid"
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    pid = processes.spawn([sys.executable, "-c", code], pidfile, tmp_path / "stubborn.log")
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    assert processes.stop(pidfile, timeout=1) == pid
    assert 1 <= time.monotonic() - started < 10
    assert processes.exited(pid)


def configured(tmp_path) -> Layout:
    """A state dir with every configuration written; the paste files the
    packages ship (copied as they are) stand in as empty pipelines."""
    layout = Layout(tmp_path / "cloud")
    for service, name in (("glance", "glance-api-paste.ini"), ("neutron", "api-paste.ini"),
                          ("nova", "api-paste.ini")):  # fmt: skip
        (layout.venv / "etc" / service).mkdir(parents=True, exist_ok=True)
        (layout.venv / "etc" / service / name).write_text("[composite:x]\n")
    configs.write_all(layout, "pw")
    return layout


def test_the_configuration_binds_loopback_and_runs_nova_on_lxc(tmp_path):
    layout = configured(tmp_path)
    nova = configparser.ConfigParser(interpolation=None)
    nova.read(layout.config_dir("nova") / "nova.conf")
    assert nova["libvirt"]["virt_type"] == "lxc"
    assert nova["libvirt"]["connection_uri"] == "lxc:///"
    assert nova["libvirt"]["images_type"] == "raw"
    assert nova["DEFAULT"]["use_cow_images"] == "false"
    assert nova["nova_sys_admin"]["helper_command"].startswith(str(layout.bin("privsep-helper")))
    every_value = "\n".join(path.read_text() for path in layout.etc.rglob("*") if path.is_file())
    for url in (line for line in every_value.split() if "://" in line):
        if url.startswith(("http://", "rabbit://")):
            assert "@127.0.0.1:" in url or "//127.0.0.1:" in url, url
    assert "unix_socket=" in nova["database"]["connection"]
    for service in SERVICES:
        argv = " ".join(service.argv(layout))
        if "gunicorn" in argv:
            assert f"--bind 127.0.0.1:{PORTS[service.port]}" in argv


def test_the_network_configuration_is_the_measured_recipe(tmp_path):
    """Each setting here was found by a failure on this machine
    (doc/local_cloud.md, Networking): dropping one breaks guests' networking."""
    layout = configured(tmp_path)
    etc = layout.config_dir("neutron")

    def ini(name: str) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(etc / name)
        return parser

    assert ini("neutron.conf")["DEFAULT"]["rpc_workers"] == "1"
    ml2 = ini("plugins/ml2/ml2_conf.ini")
    assert ml2["ml2"]["mechanism_drivers"] == "openvswitch"
    assert ml2["ml2_type_flat"]["flat_networks"] == network.PHYSNET
    assert ml2["ml2_type_vlan"]["network_vlan_ranges"].startswith(f"{network.PHYSNET}:")
    ovs = ini("ovs_agent.ini")["ovs"]
    assert ovs["datapath_type"] == "netdev"
    assert ovs["bridge_mappings"] == f"{network.PHYSNET}:{network.PROVIDER_BRIDGE}"
    dhcp = ini("dhcp_agent.ini")["DEFAULT"]
    assert dhcp["ovs_use_veth"] == "true"
    assert dhcp["enable_isolated_metadata"] == "true"
    assert "user=root" in Path(dhcp["dnsmasq_config_file"]).read_text()
    nova = configparser.ConfigParser(interpolation=None)
    nova.read(layout.config_dir("nova") / "nova.conf")
    assert nova["service_user"]["send_service_user_token"] == "true"
    assert nova["neutron"]["service_metadata_proxy"] == "true"
    assert nova["DEFAULT"]["host"] == ini("neutron.conf")["DEFAULT"]["host"]  # ports bind by it
    # Every address of the cloud's network is a documentation range.
    for cidr in (network.CIDR, tempest_conf.PROJECT_NETWORK_CIDR):
        assert ipaddress.ip_network(cidr).subnet_of(
            ipaddress.ip_network("198.51.100.0/24")
        ) or ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network("203.0.113.0/24"))


def test_a_cidr_routed_elsewhere_is_refused_before_anything_is_made():
    """This machine's own routes (its uplink's, at least) clash; the cloud's
    range clashes with nothing but the cloud's own bridge."""
    listed = subprocess.run(
        ["ip", "-json", "route", "show"], capture_output=True, text=True, check=True
    ).stdout
    routes = [r for r in json.loads(listed) if r.get("dst", "default") != "default"]
    if routes:
        assert routes[0]["dev"] in network.routed_elsewhere(routes[0]["dst"])
    assert network.routed_elsewhere(network.CIDR) == []


def test_the_clouds_yaml_entry_keeps_the_users_other_clouds(tmp_path):
    path = tmp_path / "clouds.yaml"
    path.write_text("# my clouds\nclouds:\n  work:  # the office\n    auth: {auth_url: x}\n")
    layout = Layout(tmp_path / "cloud")
    clouds_yaml.write_entry(layout, "pw", path)
    text = path.read_text()
    assert "# my clouds" in text and "# the office" in text
    clouds = yaml.safe_load(text)["clouds"]
    assert clouds["work"] == {"auth": {"auth_url": "x"}}
    assert clouds[CLOUD_NAME]["auth"]["auth_url"] == f"http://127.0.0.1:{PORTS['keystone']}/v3"
    before = path.stat().st_mtime_ns
    clouds_yaml.write_entry(layout, "pw", path)
    assert path.stat().st_mtime_ns == before  # unchanged: not rewritten
    clouds_yaml.remove_entry(path)
    assert list(yaml.safe_load(path.read_text())["clouds"]) == ["work"]


def test_a_long_state_dir_gets_a_short_database_socket(tmp_path):
    short = Layout(tmp_path / "c")
    assert short.mariadb_socket == short.run / "mariadb.sock"
    long = Layout(tmp_path / ("x" * 90))
    assert len(str(long.mariadb_socket)) < 100
    assert long.mariadb_socket != Layout(tmp_path / ("y" * 90)).mariadb_socket


def test_status_of_a_cloud_never_started(tmp_path):
    rows = lifecycle.status(Layout(tmp_path / "cloud"))
    # The container service's rows only once it runs (`up --with container-service`).
    assert [row.name for row in rows] == [service.name for service in services_of(frozenset())]
    assert {row.health for row in rows} == {"stopped"}
    assert not any(row.ok for row in rows)


def test_spawned_services_do_not_get_our_ctrl_c(tmp_path):
    """A service runs in its own session: Ctrl-C at the terminal (SIGINT to
    our process group) does not stop the cloud half-way."""
    pidfile = tmp_path / "svc.pid"
    pid = processes.spawn(["sleep", "60"], pidfile, tmp_path / "svc.log")
    try:
        assert subprocess.run(["ps", "-o", "sid=", "-p", str(pid)], capture_output=True,
                              text=True).stdout.strip() == str(pid)  # fmt: skip
    finally:
        assert processes.stop(pidfile, timeout=5) == pid


def test_the_container_service_is_added_only_when_asked_for():
    base = [s.name for s in services_of(frozenset())]
    with_zun = [s.name for s in services_of(frozenset({zun.COMPONENT}))]
    added = ["kuryr-libnetwork", "zun-api", f"dockerd-{zun.SECOND_HOST}", "zun-compute",
             "zun-compute-2"]  # fmt: skip
    assert not set(added) & set(base)
    assert with_zun == base + added  # after everything they stand on
    assert [s.name for s in SERVICES] == with_zun
    assert len(set(PORTS.values())) == len(PORTS)


def test_a_namespaced_service_is_recognised_by_its_own_command_line():
    """kuryr and the second engine run in namespaces of their own (their host
    name is what they report); once the wrapper execs them, their command
    line is theirs alone, which is what `down` looks for in /proc."""
    argv = in_uts_namespace("cci-local", ["kuryr-server", "--config-file", "k.conf"])
    assert argv[:3] == ["unshare", "--uts", "--"]
    assert program_argv(argv) == ["kuryr-server", "--config-file", "k.conf"]
    mounted = in_uts_namespace("h", ["dockerd", "-H", "x"], before="mount --bind a b")
    assert "--mount" in mounted and program_argv(mounted) == ["dockerd", "-H", "x"]
    assert program_argv(["nova-compute"]) == ["nova-compute"]
    done = subprocess.run(in_uts_namespace("cci-test-uts", ["hostname"]), capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode == 0:  # unshare needs CAP_SYS_ADMIN
        assert done.stdout.strip() == "cci-test-uts"


def test_the_container_service_configuration(tmp_path):
    layout = Layout(tmp_path / "cloud")
    (layout.zun_venv / "etc" / "zun").mkdir(parents=True)
    (layout.zun_venv / "etc" / "zun" / "api-paste.ini").write_text("[pipeline:main]\n")
    zun.write_configs(layout, "secret", "the-engines-name")
    read = configparser.ConfigParser(interpolation=None)
    read.read(layout.config_dir("zun") / "zun.conf")
    assert read["api"]["host_ip"] == "127.0.0.1"
    assert read["api"]["port"] == str(PORTS["zun-api"])
    assert read["DEFAULT"]["capsule_driver"] == "docker"  # the CRI driver needs containerd's CRI
    assert read["DEFAULT"]["default_image_driver"] == "glance"  # nothing pulled from a registry
    first = configparser.ConfigParser(interpolation=None)
    first.read(layout.config_dir("zun") / "compute-1.conf")
    assert first["DEFAULT"]["host"] == "the-engines-name" == zun.first_host(layout)
    assert first["compute"]["host_shared_with_nova"] == "true"
    second = configparser.ConfigParser(interpolation=None)
    second.read(layout.config_dir("zun") / "compute-2.conf")
    assert second["DEFAULT"]["host"] == zun.SECOND_HOST
    assert second["compute"]["host_shared_with_nova"] == "false"
    assert second["docker"]["api_url"] == f"unix://{layout.second_docker_socket}"
    kuryr = configparser.ConfigParser(interpolation=None)
    kuryr.read(layout.config_dir("kuryr") / "kuryr.conf")
    assert kuryr["DEFAULT"]["kuryr_uri"] == f"http://127.0.0.1:{PORTS['kuryr']}"
    binding = Path(kuryr["DEFAULT"]["bindir"]) / "ovs"
    assert binding.stat().st_mode & 0o111
    assert network.INTEGRATION_BRIDGE in binding.read_text()
    assert " br-int " not in binding.read_text()  # kuryr's own script's bridge


def test_the_container_image_is_the_plugins_default_and_what_up_registers():
    from container_ci.targets.container_service import CONTAINER_IMAGES
    from tempest_plugin import config as plugin_config

    default = next(o.default for o in plugin_config.ContainerCIGroup if o.name == "image")
    assert default == tempest_conf.CONTAINER_IMAGE == CONTAINER_IMAGES["base"]
    settings = tempest_conf.plugin_settings("container-service", "libvirt-lxc")["container_ci"]
    assert settings["image"] == default


def test_the_compute_driver_chooses_nova_computes_program(tmp_path):
    """libvirt-lxc: nova-compute itself; docker: the launcher, which registers
    cci_nova_docker where nova 34 loads drivers from, found through PYTHONPATH
    in a copy beside nova.conf (a change to it restarts nova-compute)."""
    from container_ci.cloud.services import SERVICES

    compute = next(s for s in SERVICES if s.name == "nova-compute")
    layout = Layout(tmp_path / "cloud")
    configs.write_ini(layout.config_dir("nova") / "nova.conf", configs.nova(layout, "pw"))
    assert configs.configured_compute_driver(layout) == "libvirt-lxc"
    assert compute.argv(layout)[0] == str(layout.bin("nova-compute"))
    assert compute.env(layout) == {}
    configs.write_ini(layout.config_dir("nova") / "nova.conf", configs.nova(layout, "pw", "docker"))
    configs._copy_docker_driver(layout.config_dir("nova"))
    assert configs.configured_compute_driver(layout) == "docker"
    argv = compute.argv(layout)
    assert argv[:3] == [str(layout.bin("python")), "-m", "cci_nova_docker.launch"]
    assert compute.env(layout) == {"PYTHONPATH": str(layout.config_dir("nova"))}
    assert (layout.config_dir("nova") / "cci_nova_docker" / "driver.py").exists()
    read = configparser.ConfigParser(interpolation=None)
    read.read(layout.config_dir("nova") / "nova.conf")
    assert read["DEFAULT"]["compute_driver"] == "cci_docker.DockerDriver"


def test_a_new_environment_or_command_line_restarts_a_service(tmp_path):
    """The digest `up` compares with the one the running service started
    with covers its environment and command line, not only its config dir
    (RABBITMQ_RUNNING_UNDER_SYSTEMD reached running clouds only when they
    were restarted by hand)."""
    import dataclasses

    rabbitmq = next(s for s in SERVICES if s.name == "rabbitmq")
    layout = Layout(tmp_path / "cloud")
    digest = rabbitmq.config_digest(layout)
    assert rabbitmq.config_digest(layout) == digest, "stable while nothing changes"
    new_env = dataclasses.replace(rabbitmq, env=lambda lay: {**rabbitmq.env(lay), "X": "1"})
    assert new_env.config_digest(layout) != digest
    new_argv = dataclasses.replace(rabbitmq, argv=lambda lay: [*rabbitmq.argv(lay), "-v"])
    assert new_argv.config_digest(layout) != digest
