"""The Target contract on both real backends, beyond what scenarios check:
typed errors, labels, identity, console across reboots, sweeping."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci import naming
from container_ci.errors import ExpectationFailed, ImageNotFound, Unsupported
from container_ci.naming import Owner
from container_ci.targets.base import Instance, InstanceState, Target
from container_ci.targets.registry import LOCAL_TARGETS, target_factory
from tests.helpers import wait_until


@pytest.fixture(params=LOCAL_TARGETS)
def target(request, run_id: str) -> Iterator[Target]:
    instance = target_factory(request.param)(Owner.current(run_id))
    instance.connect()
    try:
        yield instance
    finally:
        instance.sweep(run_id=run_id)
        instance.close()


def test_missing_image_is_typed_and_leaves_nothing(target: Target, run_id: str):
    name = naming.resource_name(run_id, "contract", "ghost")
    with pytest.raises(ImageNotFound):
        target.create(name, "cci-guest:does-not-exist", "contract")
    assert [r for r in target.list_owned() if r.run_id == run_id] == []


def test_created_instance_is_named_labelled_and_listed(target: Target, run_id: str):
    name = naming.resource_name(run_id, "contract", "vm")
    instance = target.create(name, target.resolve_image("base"), "contract")
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    [resource] = [r for r in target.list_owned() if r.run_id == run_id]
    assert resource.name == name and name.startswith("cci-")
    assert resource.owner is not None and resource.owner.is_alive()
    assert not resource.is_stale()
    assert instance.id in target.identity(instance)
    target.delete(instance)
    target.wait_for_state(instance, InstanceState.GONE, 30)


def test_exec_keeps_exit_code_and_streams(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    result = target.exec(instance, ["sh", "-c", "echo out; echo err >&2; exit 5"], 10)
    assert (result.exit_code, result.stdout, result.stderr) == (5, "out\n", "err\n")
    target.delete(instance)


def test_console_survives_reboot_and_stop_start(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_console(instance, "CCI-BOOT-OK boot=1 image=base", 30)
    target.reboot(instance)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=2", 30)
    target.stop(instance)
    target.wait_for_state(instance, InstanceState.SHUTOFF, 30)
    target.start(instance)
    log = target.wait_for_console(instance, "CCI-BOOT-OK boot=3", 30)
    assert log.index("boot=1") < log.index("boot=2") < log.index("boot=3")
    target.delete(instance)


def test_suspend_is_a_typed_capability_gap(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    with pytest.raises(Unsupported) as caught:
        target.suspend(instance)
    assert caught.value.op == "suspend" and caught.value.reason
    assert target.state(instance) == InstanceState.ACTIVE
    target.delete(instance)


def test_sweep_by_run_id_removes_instances_and_snapshots(target: Target, run_id: str):
    instance = target.create(
        naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
    )
    target.wait_for_state(instance, InstanceState.ACTIVE, 30)
    image = target.snapshot(instance, "snap")
    kinds = sorted(r.kind for r in target.list_owned() if r.run_id == run_id)
    assert kinds == ["image", "instance"]
    removed = target.sweep(run_id=run_id)
    assert [r.kind for r in removed] == ["instance", "image"]
    assert [r for r in target.list_owned() if r.run_id == run_id] == []
    with pytest.raises(ImageNotFound):
        target.create(naming.resource_name(run_id, "contract", "vm2"), image, "contract")


def test_a_domain_whose_files_are_gone_is_still_found_by_its_labels(run_id: str):
    """The run's data dir removed under a running domain (bench/chaos: a
    bench stopped mid-run takes its data dir with it): the domain is found
    by the labels libvirt keeps in its metadata alone, and swept. libvirt
    9.0 hands that metadata back without its namespace; matching only the
    namespaced name had found no domain at all this way."""
    import shutil

    from container_ci.targets.libvirt_lxc import LibvirtLxcTarget

    target = target_factory("libvirt-lxc")(Owner.current(run_id))
    assert isinstance(target, LibvirtLxcTarget)
    target.connect()
    try:
        name = naming.resource_name(run_id, "contract", "orphan")
        instance = target.create(name, target.resolve_image("base"), "contract")
        target.wait_for_state(instance, InstanceState.ACTIVE, 30)
        shutil.rmtree(target.instances_dir / name)
        [resource] = [r for r in target.list_owned() if r.run_id == run_id]
        assert (resource.name, resource.kind) == (name, "instance")
        assert resource.owner is not None and resource.owner.pid == os.getpid()
        assert [r.name for r in target.sweep(run_id=run_id)] == [name]
        assert name not in {domain.name() for domain in target.conn.listAllDomains(0)}
    finally:
        target.sweep(run_id=run_id)
        target.close()


def test_an_image_that_lost_its_tag_is_swept_by_its_id(run_id: str):
    """A snapshot image whose tag went while a container still used it (a
    forced remove only untags it then) is listed as "<none>:<none>", which
    no call takes: the sweep removes it by its id, and the container with
    it (bench/chaos: that name made every later sweep exit 3, leaving
    the rest in place)."""
    from container_ci.targets.docker import DockerTarget

    target = target_factory("docker")(Owner.current(run_id))
    assert isinstance(target, DockerTarget)
    target.connect()
    try:
        source = target.create(
            naming.resource_name(run_id, "contract", "source"), target.resolve_image("base"),
            "contract",
        )  # fmt: skip
        target.wait_for_state(source, InstanceState.ACTIVE, 30)
        image = target.snapshot(source, "snap")
        copy = target.create(naming.resource_name(run_id, "contract", "copy"), image, "contract")
        target.client.images.remove(image, force=True)  # untagged: the copy uses it
        owned = [r for r in target.list_owned() if r.run_id == run_id]
        assert sorted(r.kind for r in owned) == ["image", "instance", "instance"], owned
        assert all("<none>" not in r.name for r in owned), owned
        removed = target.sweep(run_id=run_id)
        assert sorted(r.kind for r in removed) == ["image", "instance", "instance"]
        assert [r for r in target.list_owned() if r.run_id == run_id] == []
        assert copy.name not in {c.name for c in target.client.containers.list(all=True)}
    finally:
        target.sweep(run_id=run_id)
        target.close()


@pytest.mark.xdist_group("local-cloud")
@pytest.mark.exclusive  # another run's stale sweep would take the orphan first
def test_a_container_the_engine_lost_is_swept_through_containerd(tmp_path, run_id: str):
    """A container containerd runs in the Engine's namespace that the Engine
    does not know: what a SIGKILLed dockerd left (bench/chaos: a guest's
    /sbin/init and 13 shims, invisible to `docker ps`). Made here with ctr
    from a spec naming it as the harness names containers; the sweep kills
    and deletes it through containerd, and leaves one not named so alone."""
    import subprocess

    from container_ci.targets import containerd_orphans
    from container_ci.targets.docker import DockerTarget

    address = containerd_orphans.containerd_address()
    assert address is not None, "containerd's socket or ctr is missing"
    target = target_factory("docker")(Owner.current(run_id))
    assert isinstance(target, DockerTarget)
    target.connect()
    ctr = ["ctr", "--address", str(address), "--namespace", containerd_orphans.NAMESPACE]
    ours, theirs = f"cci-{run_id}-orphan", f"other-{run_id}-orphan"
    try:
        exporter = target.client.containers.create(target.resolve_image("base"), ["true"])
        try:
            exported = b"".join(exporter.export())
        finally:
            exporter.remove()
        rootfs = tmp_path / "rootfs"
        rootfs.mkdir()
        subprocess.run(["tar", "-x", "-C", str(rootfs)], input=exported, check=True)
        spec = json.loads(subprocess.run([*ctr, "oci", "spec"], capture_output=True,
                                         text=True, check=True).stdout)  # fmt: skip
        spec["process"].update(args=["/bin/sh", "-c", "sleep 600"], terminal=False)
        spec["root"] = {"path": str(rootfs), "readonly": True}
        for container_id, hostname in (
            (ours, naming.resource_name(run_id, "contract", "lost")),
            (theirs, f"someone-else-{run_id}"),
        ):
            spec["hostname"] = hostname
            (tmp_path / f"{container_id}.json").write_text(json.dumps(spec))
            subprocess.run([*ctr, "run", "--detach", "--config",
                            str(tmp_path / f"{container_id}.json"), container_id],
                           check=True, capture_output=True)  # fmt: skip
        pid = _task_pid(ctr, ours)
        assert pid is not None and os.path.exists(f"/proc/{pid}")
        assert ours not in {c.id for c in target.client.containers.list(all=True)}

        [orphan] = [r for r in target.list_owned() if r.kind == naming.KIND_ORPHAN
                    and r.belongs_to(run_id)]  # fmt: skip
        assert (orphan.name, orphan.backend_id) == (
            naming.resource_name(run_id, "contract", "lost"),
            ours,
        )
        assert [r.backend_id for r in target.sweep(run_id=run_id)] == [ours]
        listed = subprocess.run([*ctr, "containers", "list", "--quiet"], capture_output=True,
                                text=True, check=True).stdout.split()  # fmt: skip
        assert ours not in listed and theirs in listed
        assert not os.path.exists(f"/proc/{pid}") or _zombie(pid)
    finally:
        for container_id in (ours, theirs):
            subprocess.run([*ctr, "tasks", "kill", "--signal", "SIGKILL", container_id],
                           capture_output=True)  # fmt: skip
            for _ in range(50):
                if _task_pid(ctr, container_id) is None:
                    break
                time.sleep(0.1)
            subprocess.run([*ctr, "tasks", "delete", "--force", container_id], capture_output=True)
            subprocess.run([*ctr, "containers", "delete", container_id], capture_output=True)
        target.close()


def _task_pid(ctr: list[str], container_id: str) -> int | None:
    """The pid of the container's running task, or None."""
    import subprocess

    listing = subprocess.run([*ctr, "tasks", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[0] == container_id and fields[2] == "RUNNING":
            return int(fields[1])
    return None


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_state_wait_that_runs_out_says_why_libvirt_stopped_the_domain(run_id: str):
    """bench/chaos once saw a just-created domain go to shutoff and stay
    there, and the timeout said only "last state: shutoff"."""
    from container_ci.errors import StepTimeout

    target = target_factory("libvirt-lxc")(Owner.current(run_id))
    target.connect()
    try:
        instance = target.create(
            naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
        )
        target.wait_for_state(instance, InstanceState.ACTIVE, 30)
        target.conn.lookupByName(instance.name).destroy()  # type: ignore[attr-defined]
        with pytest.raises(StepTimeout) as raised:
            target.wait_for_state(instance, InstanceState.ACTIVE, 0.5)
        assert "last state: shutoff; libvirt state 5, reason 2 (destroyed)" in str(raised.value)
        assert "controller log: " in str(raised.value)
    finally:
        target.sweep(run_id=run_id)
        target.close()


def test_an_instance_dir_being_made_is_not_taken_for_a_leftover(run_id: str):
    """bench/chaos, two runs at once: one run's stale sweep took the other's
    just-made instance dir, its labels not written yet, for a dead run's and
    removed it under the boot. The dir now appears with its labels, made
    under a staging name with its maker's pid; a staging dir whose maker is
    gone is a leftover like any other."""
    import subprocess

    from container_ci.targets.libvirt_lxc import STAGING_PREFIX, LibvirtLxcTarget

    target = target_factory("libvirt-lxc")(Owner.current(run_id))
    assert isinstance(target, LibvirtLxcTarget)
    target.connect()
    gone_pid = subprocess.Popen(["true"])  # a pid that has exited
    gone_pid.wait()
    being_made = target.instances_dir / f"{STAGING_PREFIX}{os.getpid()}-cci-{run_id}-x-new"
    abandoned = target.instances_dir / f"{STAGING_PREFIX}{gone_pid.pid}-cci-{run_id}-x-old"
    try:
        for directory in (being_made, abandoned):
            directory.mkdir(parents=True)
        names = {r.name for r in target.list_owned()}
        assert being_made.name not in names and abandoned.name in names
        instance = target.create(
            naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
        )
        staging = [p.name for p in target.instances_dir.glob(f"{STAGING_PREFIX}*{instance.name}")]
        assert staging == [], "the staging dir was renamed into place"
        target.sweep(run_id=run_id)
        target.sweep()  # the stale ones
        assert not abandoned.exists() and being_made.exists()
    finally:
        import shutil

        for directory in (being_made, abandoned):
            shutil.rmtree(directory, ignore_errors=True)
        target.sweep(run_id=run_id)
        target.close()


def test_a_domain_frozen_behind_libvirts_back_is_still_deleted(run_id: str):
    """bench/chaos: libvirtd killed during a snapshot (which freezes the
    domain for its copy) never thawed it; the libvirtd started again calls
    it running, and its destroy failed with "Some processes refused to die"
    on every later sweep. Frozen here through its freezer cgroup, as that
    restart leaves it: deleted, and nothing left."""
    from container_ci.targets.libvirt_lxc import CGROUP_ROOT, LibvirtLxcTarget, _init_pid

    target = target_factory("libvirt-lxc")(Owner.current(run_id))
    assert isinstance(target, LibvirtLxcTarget)
    target.connect()
    try:
        instance = target.create(
            naming.resource_name(run_id, "contract", "vm"), target.resolve_image("base"), "contract"
        )
        target.wait_for_state(instance, InstanceState.ACTIVE, 30)
        init = _init_pid(instance.name)
        assert init is not None
        cgroups = Path(f"/proc/{init}/cgroup").read_text().splitlines()
        [path] = [line.split(":", 2)[2] for line in cgroups
                  if "freezer" in line.split(":")[1].split(",")]  # fmt: skip
        freezer = CGROUP_ROOT / "freezer" / path.lstrip("/") / "freezer.state"
        freezer.write_text("FROZEN")
        for _ in range(50):
            if freezer.read_text().strip() == "FROZEN":
                break
            time.sleep(0.1)
        assert freezer.read_text().strip() == "FROZEN"
        assert target.state(instance) == InstanceState.ACTIVE, "libvirt does not know"
        target.delete(instance)
        assert target.state(instance) == InstanceState.GONE
        assert not os.path.exists(f"/proc/{init}") or _zombie(init)
    finally:
        target.sweep(run_id=run_id)
        target.close()


def test_what_a_killed_libvirtd_leaves_in_its_runtime_dir_is_swept(run_id: str):
    """bench/chaos in CI: libvirtd killed while it wrote a domain's status
    file left <name>.xml.new in /run/libvirt/lxc, which no libvirtd reads
    again and the sweep did not know. With the controller's pid file of a
    controller that has exited and an emptied /dev dir: all of a domain
    libvirt does not know goes; an entry not named as ours stays."""
    import subprocess

    from container_ci.targets.libvirt_lxc import RUNTIME_DIR, LibvirtLxcTarget

    target = target_factory("libvirt-lxc")(Owner.current(run_id))
    assert isinstance(target, LibvirtLxcTarget)
    target.connect()
    exited = subprocess.Popen(["true"])
    exited.wait()
    name = naming.resource_name(run_id, "contract", "vm")
    ours = [RUNTIME_DIR / f"{name}{suffix}" for suffix in (".xml.new", ".pid", ".dev")]
    not_ours = RUNTIME_DIR / f"other-{run_id}.xml.new"
    try:
        ours[0].write_text("<domstatus state='running'/>\n")
        ours[1].write_text(f"{exited.pid}\n")
        ours[2].mkdir()
        not_ours.write_text("<domstatus/>\n")
        target.sweep()
        assert [p.name for p in ours if p.exists()] == []
        assert not_ours.exists()
    finally:
        for path in [*ours, not_ours]:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        target.sweep(run_id=run_id)
        target.close()


# the `target` fixture on the libvirt-lxc target only
only_lxc = pytest.mark.parametrize("target", ["libvirt-lxc"], indirect=True)


def _boot(target: Target, run_id: str) -> Instance:
    name = naming.resource_name(run_id, "contract", "vm")
    return target.create(name, target.resolve_image("base"), "contract")


@only_lxc
def test_libvirts_init_pid_is_read_as_libvirt_holds_it(target: Target, run_id: str):
    """What the harness compares with the controller's init: libvirtd's
    status file, which it rewrites when the controller reports an init,
    after the first boot and after a stop and start."""
    from container_ci.targets.libvirt_lxc import _current_init

    instance = _boot(target, run_id)
    for boot in (1, 2):
        target.wait_for_console(instance, f"CCI-BOOT-OK boot={boot}", 30)
        deadline = time.monotonic() + 10
        while not _current_init(instance.name)[1] and time.monotonic() < deadline:
            time.sleep(0.1)
        pid, libvirt_knows = _current_init(instance.name)
        assert libvirt_knows and pid is not None, f"boot {boot}: libvirt never named init {pid}"
        target.stop(instance)
        target.wait_for_state(instance, InstanceState.SHUTOFF, 30)
        target.start(instance)
    target.delete(instance)


@only_lxc
def test_an_exec_never_runs_on_the_host(target: Target, run_id: str, tmp_path, monkeypatch):
    """bench/chaos, two runs at once: `cat /var/lib/cci/boot-count` in a
    guest answered "No such file or directory": it had run on the host.
    libvirt 9.0 keeps the previous boot's init pid until the controller
    reports the new one (for ever when that report is lost), and for a pid
    that has exited lxcOpenNamespace opens nothing and returns no fds (it
    skips what it cannot open); nsenter with no namespaces runs on the
    host. That answer, given here: the exec runs in the guest, through its
    controller's init; given no namespaces at all, the command is not run."""
    import libvirt_lxc

    from container_ci.targets import libvirt_lxc as module

    instance = _boot(target, run_id)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=1", 30)
    monkeypatch.setattr(libvirt_lxc, "lxcOpenNamespace", lambda _domain, _flags: [])
    result = target.exec(instance, ["cat", "/var/lib/cci/boot-count"], 10)
    assert (result.exit_code, result.stdout) == (0, "1\n"), result.stderr
    marker = tmp_path / "ran-on-the-host"
    monkeypatch.setattr(module.LibvirtLxcTarget, "_open_namespaces", lambda *_args: [])
    with pytest.raises(ExpectationFailed, match="no mount namespace of its init"):
        target.exec(instance, ["touch", str(marker)], 10)
    assert not marker.exists()
    target.delete(instance)


@only_lxc
def test_a_stale_libvirt_init_pid_gets_no_signal(target: Target, run_id: str, monkeypatch):
    """libvirt signals the init pid it holds: after a restart whose report
    it lost, the previous boot's, which may be another process by then
    (two runs at once: a guest's init exited at boot, "shut down", with
    no step of its own run stopping it). While libvirt's pid is not the
    controller's init, the harness signals that init itself, as libvirt
    would: a stop reaches the guest and libvirt's call is not made."""
    import subprocess

    import libvirt

    from container_ci.targets import libvirt_lxc as module

    instance = _boot(target, run_id)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=1", 30)
    exited = subprocess.Popen(["true"])
    exited.wait()
    monkeypatch.setattr(module, "_libvirt_init_pid", lambda _name: exited.pid)
    calls: list[int] = []
    real = libvirt.virDomain.shutdownFlags
    monkeypatch.setattr(
        libvirt.virDomain,
        "shutdownFlags",
        lambda domain, flags=0: (calls.append(flags), real(domain, flags))[1],
    )
    target.stop(instance)
    assert target.state(instance) == InstanceState.SHUTOFF
    assert calls == []
    # its init exited on the SIGTERM (not destroyed after the stop's grace);
    # its last console line may be lost with the PTY, its reason is not
    domain = target.conn.lookupByName(instance.name)
    assert domain.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    target.delete(instance)


@only_lxc
def test_a_reboot_libvirtd_cannot_hear_fails_at_once_saying_why(
    target: Target, run_id: str, tmp_path, monkeypatch
):
    """libvirt 9.0 drops its monitor connection to a controller now and
    then as a domain starts under load (see lxc_monitor), and then never
    hears the guest's init end: a reboot waited out the console's 120 s.
    The connection cannot be dropped on demand, so the socket table the
    target reads is one with no connection to the real controller; the
    reboot is refused at once, naming the loss, and the guest is not
    signalled. The healthy case is every other reboot test: the real table
    shows the connection, and the reboot goes on."""
    from container_ci.targets import libvirt_lxc as module
    from container_ci.targets import lxc_monitor

    instance = _boot(target, run_id)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=1", 30)
    assert lxc_monitor.monitor_loss(instance.name) == ""
    real_table = lxc_monitor.UNIX_SOCKETS.read_text().splitlines()
    header_only = tmp_path / "unix"
    header_only.write_text(real_table[0] + "\n")
    monkeypatch.setattr(
        module,
        "monitor_loss",
        lambda name, **kw: lxc_monitor.monitor_loss(name, table=header_only, **kw),
    )
    started = time.monotonic()
    with pytest.raises(ExpectationFailed, match=lxc_monitor.MONITOR_LOST) as refused:
        target.reboot(instance)
    assert time.monotonic() - started < 5
    assert f"pid {lxc_monitor.controller_pid(instance.name)}" in str(refused.value)
    assert lxc_monitor.MONITOR_LOST in target.console_diagnostics(instance)
    time.sleep(1)
    assert "boot=2" not in target.console_log(instance)
    assert target.state(instance) == InstanceState.ACTIVE
    target.delete(instance)


@only_lxc
def test_console_readers_attach_on_a_connection_of_their_own(target: Target, run_id: str):
    """libvirt 9.0's daemon, handling a console stream's abort, can put a
    second confirm of the abort in place of the reply to the call that came
    right after it on the same connection (its debug log, 4 times in about
    145 runs of three main jobs at once): that call waited for ever (a
    delete past its step's 65 s) or the connection closed ("An error
    occurred, but the cause is unknown", the run's every later step in
    error). The readers' streams are on a connection the steps never use;
    closed under them (its socket shut down here), the reader is started
    again on a new one and reads the next boot."""
    import socket

    from container_ci.targets.libvirt_lxc import LibvirtLxcTarget

    assert isinstance(target, LibvirtLxcTarget)
    before = _sockets()
    readers = target._consoles_connection()
    assert readers is not target.conn
    assert readers.isAlive() == 1 and target.conn.isAlive() == 1
    theirs = {fd for fd, inode in _sockets().items() if inode not in before.values()}
    assert len(theirs) == 1, "one socket more: the readers' connection"
    instance = _boot(target, run_id)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=1", 30)
    assert target._consoles[instance.name]._conn is readers
    with socket.socket(fileno=os.dup(theirs.pop())) as sock:
        sock.shutdown(socket.SHUT_RDWR)
    assert wait_until(lambda: readers.isAlive() == 0, 10)
    target.reboot(instance)
    target.wait_for_console(instance, "CCI-BOOT-OK boot=2", 30)
    assert target._consoles[instance.name]._conn is not readers
    assert "its connection to libvirtd closed" in target._consoles[instance.name].replaces
    target.delete(instance)
    assert target.conn.isAlive() == 1


def _sockets() -> dict[int, str]:
    """This process's sockets: fd -> inode link."""
    found = {}
    for entry in Path("/proc/self/fd").iterdir():
        try:
            link = os.readlink(entry)
        except OSError:
            continue
        if link.startswith("socket:"):
            found[int(entry.name)] = link
    return found
