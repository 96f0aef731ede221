"""The `libvirt-lxc` target: an instance is a persistent LXC domain on `lxc:///`.

State waits are driven by libvirt's domain lifecycle and reboot callbacks;
polling is only the fallback. libvirt has no images, so images live in an
LxcImageStore and each instance gets its own copy of the rootfs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import libvirt
import libvirt_lxc

from container_ci import naming, paths
from container_ci.errors import (
    ContainerCIError,
    ExpectationFailed,
    InfrastructureError,
    StepTimeout,
    TargetUnavailable,
    Unsupported,
    first_line,
)
from container_ci.naming import Owner
from container_ci.targets.base import ExecResult, Instance, InstanceState, OwnedResource, Target
from container_ci.targets.libvirt_events import ensure_event_loop
from container_ci.targets.lxc_console import ConsoleCapture, connection_open
from container_ci.targets.lxc_images import LxcImageStore
from container_ci.targets.lxc_monitor import (
    CONTROLLER_LOGS,
    RUNTIME_DIR,
    monitor_loss,
    recorded_controller_pid,
)

URI = "lxc:///"
METADATA_NS = "https://opendev.org/openstack/container-ci/instance/1"
METADATA_KEY = "cci"
SNAPSHOT_REPO = "cci-snap"
STOP_GRACE = 10.0  # seconds after SIGTERM before the domain is destroyed
INSTANCE_META = "instance.json"
INIT_PID_WAIT = 10.0  # seconds a reboot waits for libvirtd to know init's pid
STAGING_PREFIX = ".staging-"  # + pid + "-" + the instance's name
EMULATOR = "/usr/lib/libvirt/libvirt_lxc"
INIT_PID_GRACE = 1.0  # seconds libvirt may take to learn a new domain's init pid
# What nsenter says when fork fails in a PID namespace whose init has exited.
NAMESPACE_INIT_GONE = b"fork failed: Cannot allocate memory"
NSENTER_FLAGS = {
    "mnt": "--mount",
    "uts": "--uts",
    "ipc": "--ipc",
    "net": "--net",
    "pid": "--pid",
    "user": "--user",
    "cgroup": "--cgroup",
}
_UNSUPPORTED_CODES = {libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_OPERATION_UNSUPPORTED}


def domain_xml(name: str, instance_id: str, rootfs: Path, labels: dict[str, str]) -> str:
    label_xml = "".join(
        f"<{METADATA_KEY}:label name={quoteattr(key)} value={quoteattr(value)}/>"
        for key, value in sorted(labels.items())
    )
    ns = f"xmlns:{METADATA_KEY}={quoteattr(METADATA_NS)}"
    metadata = f"<{METADATA_KEY}:instance {ns}>{label_xml}</{METADATA_KEY}:instance>"
    return f"""<domain type='lxc'>
  <name>{escape(name)}</name>
  <uuid>{instance_id}</uuid>
  <metadata>
    {metadata}
  </metadata>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>exe</type><init>/sbin/init</init></os>
  <features><privnet/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{EMULATOR}</emulator>
    <filesystem type='mount'>
      <source dir={quoteattr(str(rootfs))}/>
      <target dir='/'/>
    </filesystem>
    <console type='pty'/>
  </devices>
</domain>"""


def parse_labels(metadata_xml: str) -> dict[str, str]:
    """The labels of our metadata element as `virDomainGetMetadata` returns
    it: libvirt 9.0 gives it back without its namespace (`<instance><label
    .../>`), though the domain XML keeps the prefix. Matching the namespaced
    name only found nothing, so `sweep` missed every domain whose instance
    dir was gone (bench/chaos, a run killed mid-boot with its data dir
    removed). The element was asked for by namespace, so it is ours."""
    root = ET.fromstring(metadata_xml)
    return {
        element.get("name", ""): element.get("value", "")
        for element in root.iter()
        if element.tag in ("label", f"{{{METADATA_NS}}}label")
    }


class LibvirtLxcTarget(Target):
    name = "libvirt-lxc"
    console_poll_interval = 0.02  # a read of the local console log file

    def __init__(self, owner: Owner, uri: str = URI) -> None:
        super().__init__(owner)
        self.uri = uri
        self._conn: libvirt.virConnect | None = None
        # The console readers' own connection (see _consoles_connection).
        self._console_conn: libvirt.virConnect | None = None
        self._callbacks: list[int] = []
        self._consoles: dict[str, ConsoleCapture] = {}
        self.images = LxcImageStore(paths.lxc_images_dir())
        self.instances_dir = paths.lxc_instances_dir()

    # -- connection -------------------------------------------------------
    @property
    def conn(self) -> libvirt.virConnect:
        if self._conn is None:
            raise InfrastructureError("libvirt-lxc: not connected")
        return self._conn

    def connect(self) -> str:
        ensure_event_loop()
        conn = self._open()
        try:
            version = conn.getLibVersion()
        except libvirt.libvirtError as exc:
            raise TargetUnavailable(
                f"libvirt-lxc: libvirtd at {self.uri}: {first_line(exc)}"
            ) from exc
        self._conn = conn
        for event_id in (
            libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
            libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
        ):
            self._callbacks.append(
                conn.domainEventRegisterAny(None, event_id, self._on_event, None)
            )
        conn.registerCloseCallback(self._on_close, None)
        major, minor, micro = version // 1_000_000, version // 1000 % 1000, version % 1000
        return f"libvirt {major}.{minor}.{micro} ({self.uri})"

    def _open(self) -> libvirt.virConnect:
        try:
            conn = libvirt.open(self.uri)
            conn.setKeepAlive(5, 3)
        except libvirt.libvirtError as exc:
            raise TargetUnavailable(
                f"libvirt-lxc: cannot connect to libvirtd at {self.uri}: "
                f"{first_line(exc)} (run `container-ci setup`)"
            ) from exc
        return conn

    def _consoles_connection(self) -> libvirt.virConnect:
        """The connection console readers attach, read and abort their
        streams on, never the steps': libvirt 9.0's daemon can answer the
        call that follows a stream's abort on the same connection with a
        second confirm of the abort instead of the call's reply (its debug
        log: the reply's message taken by daemonStreamHandleFinish; "No
        stream found for packet" at the client), 4 times in about 145 runs
        of three main jobs at once. That call waited for ever (a delete past
        its step's 65 s) or the connection broke (every later step in
        error). Lost here, a reader's call makes it stuck and another is
        started (ConsoleCapture.stuck); a connection that closed is opened
        again for the next reader."""
        conn = self._console_conn
        if conn is not None and connection_open(conn):
            return conn
        if conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()
        self._console_conn = None
        self._console_conn = self._open()
        return self._console_conn

    def reconnect_if_lost(self) -> str:
        """bench/chaos: after libvirtd was killed and started again, a run
        could not delete its domains (its connection was the dead one's) and
        left them all to `container-ci sweep`."""
        if self._conn is None or self._alive():
            return ""
        self.close()
        version = self.connect()
        return f"libvirtd's connection was lost; connected again ({version}) to clean up"

    def _on_event(self, *_args: object) -> None:
        self.waiter.notify()

    def _on_close(self, *_args: object) -> None:
        self.waiter.notify()

    def close(self) -> None:
        for capture in list(self._consoles.values()):
            capture.stop()
        self._consoles.clear()
        if self._console_conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                self._console_conn.close()
            self._console_conn = None
        if self._conn is not None:
            for callback in self._callbacks:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.domainEventDeregisterAny(callback)
            self._callbacks.clear()
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.unregisterCloseCallback()
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Classify libvirt errors: a dead connection is infrastructure, the rest is the driver."""
        try:
            yield
        except libvirt.libvirtError as exc:
            code = exc.get_error_code()
            if code in _UNSUPPORTED_CODES:
                raise Unsupported(what.split()[0], first_line(exc)) from exc
            if not self._alive() or exc.get_error_domain() == libvirt.VIR_FROM_RPC:
                raise InfrastructureError(
                    f"libvirt-lxc: {what}: libvirtd connection lost: {first_line(exc)}"
                ) from exc
            raise ExpectationFailed(f"libvirt-lxc: {what}: {first_line(exc)}") from exc

    def _alive(self) -> bool:
        return self._conn is not None and connection_open(self._conn)

    def _domain(self, name: str) -> libvirt.virDomain:
        with self._errors(f"look up {name}"):
            return self.conn.lookupByName(name)

    # -- images -----------------------------------------------------------
    def delete_image(self, image: str) -> None:
        self.images.delete(image)

    # -- lifecycle --------------------------------------------------------
    def _instance_dir(self, name: str) -> Path:
        return self.instances_dir / name

    def create(self, name: str, image: str, scenario: str) -> Instance:
        stored = self.images.get(image)  # ImageNotFound before anything is created
        instance_id = str(uuid.uuid4())
        labels = naming.labels(self.owner, naming.KIND_INSTANCE, scenario, instance_id)
        directory = self._instance_dir(name)
        self._make_instance_dir(directory, labels)
        try:
            shutil.copytree(stored.rootfs, directory / "rootfs", symlinks=True)
            xml = domain_xml(name, instance_id, directory / "rootfs", labels)
            with self._errors(f"create {name}"):
                domain = self.conn.defineXML(xml)
                self._capture_console(name)
                domain.create()
        except BaseException:
            self._destroy_everything(name)
            raise
        return Instance(id=instance_id, name=name, image=image, scenario=scenario)

    def _make_instance_dir(self, directory: Path, labels: dict[str, str]) -> None:
        """The instance dir appears with its labels (the ledger a sweep judges
        it by) or not at all: made under a staging name that carries our pid,
        then renamed. bench/chaos, two runs at once: one run's stale sweep
        took the other's just-made dir, whose labels were not written yet,
        for a dead run's and removed it under the boot (FileNotFoundError,
        or a domain whose rootfs went, shut off)."""
        if directory.exists():
            raise FileExistsError(f"{directory} exists")
        self.instances_dir.mkdir(parents=True, exist_ok=True)
        staging = self.instances_dir / f"{STAGING_PREFIX}{os.getpid()}-{directory.name}"
        staging.mkdir()
        try:
            (staging / INSTANCE_META).write_text(json.dumps(labels, indent=2, sort_keys=True))
            os.rename(staging, directory)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _capture_console(self, name: str, replaces: str = "") -> None:
        if name not in self._consoles:
            capture = ConsoleCapture(
                self._consoles_connection(),
                name,
                self._instance_dir(name) / "console.log",
                self.waiter,
            )
            capture.replaces = replaces
            self._consoles[name] = capture
            capture.start()

    def _console(self, name: str) -> ConsoleCapture | None:
        """The domain's console reader; one that is stuck (see
        ConsoleCapture.stuck) is given up and another started, which reads
        what the PTY kept meanwhile. Asked at every read of a console wait,
        so a wait outlives a stuck reader."""
        capture = self._consoles.get(name)
        if capture is None:
            return None
        why = capture.stuck()
        if why:
            capture.abandon()
            self._consoles.pop(name, None)
            self._capture_console(name, replaces=why)
        return self._consoles.get(name)

    def state(self, instance: Instance) -> InstanceState:
        with self._errors(f"state of {instance.name}"):
            try:
                domain = self.conn.lookupByName(instance.name)
                state, _reason = domain.state()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return InstanceState.GONE
                raise
        return {
            libvirt.VIR_DOMAIN_RUNNING: InstanceState.ACTIVE,
            libvirt.VIR_DOMAIN_BLOCKED: InstanceState.ACTIVE,
            libvirt.VIR_DOMAIN_PAUSED: InstanceState.PAUSED,
            libvirt.VIR_DOMAIN_SHUTOFF: InstanceState.SHUTOFF,
            libvirt.VIR_DOMAIN_PMSUSPENDED: InstanceState.SUSPENDED,
            libvirt.VIR_DOMAIN_CRASHED: InstanceState.ERROR,
        }.get(state, InstanceState.BUILDING)

    def state_detail(self, instance: Instance) -> str:
        """libvirt's reason for the state and the last line of the domain's
        controller log: bench/chaos once saw a just-created domain (a
        snapshot's copy, two runs at once) go to shutoff and stay there,
        with nothing to tell why."""
        try:
            state, reason = self.conn.lookupByName(instance.name).state()
        except libvirt.libvirtError as exc:
            return f"libvirt: {first_line(exc)}"
        detail = f"libvirt state {state}, reason {reason}"
        if state == libvirt.VIR_DOMAIN_SHUTOFF:
            detail += f" ({SHUTOFF_REASONS.get(reason, 'unknown')})"
        try:
            lines = (CONTROLLER_LOGS / f"{instance.name}.log").read_text(errors="replace")
        except OSError:
            return detail
        last = [line for line in lines.splitlines() if line.strip()][-1:]
        return f"{detail}; controller log: {last[0][:300] if last else '(empty)'}"

    def identity(self, instance: Instance) -> str:
        domain = self._domain(instance.name)
        with self._errors(f"identity of {instance.name}"):
            return f"{domain.UUIDString()}/{domain.name()}"

    def console_diagnostics(self, instance: Instance) -> str:
        """How the console is read, and whether the guest's init got as far
        as counting this boot (it writes the count just before printing the
        marker): a count with nothing read is a console that lost output, no
        count is a guest that did not boot (bench/chaos met both kinds of
        silence under load, 2 runs in 100, and could not tell them apart)."""
        capture = self._console(instance.name)
        reader = capture.diagnostics() if capture else "no console reader"
        count_file = self._instance_dir(instance.name) / "rootfs" / "var/lib/cci/boot-count"
        try:
            count = f"the guest counted boot {count_file.read_text().strip()}"
        except OSError:
            count = "the guest counted no boot"
        init = _init_pid(instance.name)
        state = f"{reader}; {count}; init {_process_state(init) if init else 'not found'}"
        loss = monitor_loss(instance.name, patience=0) if self._alive() else ""
        return f"{state}; {loss}" if loss else state

    def console_lost(self, instance: Instance) -> str:
        """libvirtd gone: the console is read through its connection, and a
        reboot is completed only by libvirtd, so nothing more can show.
        bench/chaos: libvirtd killed during a reboot made the run wait out
        the step's 60 s and then say the driver failed."""
        return "" if self._alive() else "libvirtd went away meanwhile (its connection is closed)"

    def console_log(self, instance: Instance) -> str:
        capture = self._console(instance.name)
        if capture is not None:
            return capture.read()
        try:
            return (self._instance_dir(instance.name) / "console.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def exec(self, instance: Instance, argv: list[str], timeout: float) -> ExecResult:
        """Run argv in the domain's namespaces with nsenter (keeps the exit code,
        which `virsh lxc-enter-namespace` loses).

        bench/chaos found (1 run in 100, two runs at once, the exec right
        after a rebuild's new boot) nsenter failing with "fork failed:
        Cannot allocate memory": what fork answers in a PID namespace whose
        init has exited, i.e. the namespaces of the domain's previous boot.
        nsenter fails so before it runs argv, so it is run again, in the
        namespaces of the init the domain's controller runs now."""
        domain = self._domain(instance.name)
        deadline = time.monotonic() + INIT_PID_GRACE
        from_controller = False
        while True:
            completed = self._nsenter(domain, instance.name, argv, timeout, from_controller)
            stale = completed.returncode == 1 and NAMESPACE_INIT_GONE in completed.stderr
            if not stale or time.monotonic() > deadline:
                break
            from_controller = True
            time.sleep(0.05)
        return ExecResult(
            exit_code=completed.returncode,
            stdout=completed.stdout.decode(errors="replace"),
            stderr=completed.stderr.decode(errors="replace"),
        )

    def _nsenter(
        self,
        domain: libvirt.virDomain,
        name: str,
        argv: list[str],
        timeout: float,
        from_controller: bool,
    ) -> subprocess.CompletedProcess[bytes]:
        with self._errors(f"exec in {name}"):
            fds = self._open_namespaces(domain, name, from_controller)
        try:
            own_user_ns = os.readlink("/proc/self/ns/user")
            options = []
            guest_mounts = ""
            for fd in fds:
                link = os.readlink(f"/proc/self/fd/{fd}")
                kind = link.split(":", 1)[0]
                if kind == "mnt":
                    guest_mounts = link
                if kind == "user" and link == own_user_ns:
                    continue  # entering the namespace we are already in is EINVAL
                if kind in NSENTER_FLAGS:
                    options.append(f"{NSENTER_FLAGS[kind]}=/proc/self/fd/{fd}")
            if not guest_mounts or guest_mounts == os.readlink("/proc/self/ns/mnt"):
                # never on the host: what an nsenter without namespaces does
                raise ExpectationFailed(
                    f"libvirt-lxc: exec in {name}: no mount namespace of its init "
                    f"({len(fds)} namespace(s) given); {argv[0]!r} not run"
                )
            try:
                return subprocess.run(
                    ["nsenter", *options, "--", *argv],
                    pass_fds=fds,
                    env={"PATH": "/bin:/sbin:/usr/bin:/usr/sbin", "HOME": "/root"},
                    capture_output=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise StepTimeout(f"exec {argv!r} in {name} ran over {timeout:g}s") from exc
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _open_namespaces(
        self, domain: libvirt.virDomain, name: str, from_controller: bool = False
    ) -> list[int]:
        """The namespace fds of the domain's init: from libvirt when libvirt
        knows which process that is (see `_current_init`). libvirt 9.0 can
        lose the controller's "init started" message when several domains
        start at once; the domain then runs but libvirt answers "Init pid is
        not yet available", or names the previous boot's init, for ever.
        After a short grace (at once `from_controller`), from the init its
        controller runs."""
        deadline = time.monotonic() + INIT_PID_GRACE
        while not from_controller:
            pid, libvirt_knows = _current_init(name)
            if libvirt_knows:
                try:
                    fds: list[int] = libvirt_lxc.lxcOpenNamespace(domain, 0)
                except libvirt.libvirtError as exc:
                    if not _init_pid_unknown(exc):
                        raise
                else:
                    if pid is not None and _namespace_of(fds, "pid") == _pid_namespace(pid):
                        return fds
                    _close_all(fds)  # a new boot came between: ask again
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        pid = _init_pid(name)
        if pid is None:
            raise libvirt.libvirtError(f"no init of {name} under its controller")
        return [
            os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
            for kind in NSENTER_FLAGS
            if os.path.exists(f"/proc/{pid}/ns/{kind}")
        ]

    def reboot(self, instance: Instance) -> None:
        """libvirtd completes an LXC reboot itself, when the controller
        reports the init ended for SIGHUP; with its monitor connection lost
        (see lxc_monitor) it never hears that, and the run waited out the
        console's 120 s to say only that no new boot showed (bench/chaos).
        Such a reboot fails at once, saying why."""
        domain = self._domain(instance.name)
        loss = monitor_loss(instance.name) if self._alive() else ""
        if loss:
            raise ExpectationFailed(f"libvirt-lxc: reboot {instance.name}: {loss}")
        # flags=0 would use /dev/initctl, which busybox init lacks: libvirt then sends nothing.
        self._signal_init(
            instance.name,
            "reboot",
            lambda: domain.reboot(libvirt.VIR_DOMAIN_REBOOT_SIGNAL),
            signal.SIGHUP,
        )

    def stop(self, instance: Instance) -> None:
        domain = self._domain(instance.name)
        self._signal_init(
            instance.name,
            "stop",
            lambda: domain.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_SIGNAL),
            signal.SIGTERM,
        )
        try:
            self.wait_for_state(instance, InstanceState.SHUTOFF, STOP_GRACE)
        except StepTimeout:
            with self._errors(f"destroy {instance.name}"):
                domain.destroy()

    def _signal_init(
        self,
        name: str,
        what: str,
        call: Callable[[], object],
        signum: int,
        patience: float = INIT_PID_WAIT,
    ) -> None:
        """Have libvirt signal the domain's init (`call`) when it knows which
        process that is; when it does not (see `_current_init`), send
        `signum` to that init ourselves, as libvirt would. Right after a
        start the init may not run yet (bench/chaos: a reboot under load
        found libvirt's "Init process ID is not yet known" with the boot
        marker already printed): asked again for up to `patience` seconds,
        then libvirt's own answer."""
        deadline = time.monotonic() + patience
        with self._errors(f"{what} {name}"):
            while True:
                pid, libvirt_knows = _current_init(name)
                if pid is not None and not libvirt_knows:
                    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                        os.kill(pid, signum)
                    return
                if libvirt_knows or time.monotonic() >= deadline:
                    try:
                        call()
                        return
                    except libvirt.libvirtError as exc:
                        if not _init_pid_unknown(exc) or time.monotonic() >= deadline:
                            raise
                time.sleep(0.1)

    def start(self, instance: Instance) -> None:
        domain = self._domain(instance.name)
        with self._errors(f"start {instance.name}"):
            domain.create()

    def pause(self, instance: Instance) -> None:
        domain = self._domain(instance.name)
        with self._errors(f"pause {instance.name}"):
            domain.suspend()

    def unpause(self, instance: Instance) -> None:
        domain = self._domain(instance.name)
        with self._errors(f"unpause {instance.name}"):
            domain.resume()

    def suspend(self, instance: Instance) -> None:
        domain = self._domain(instance.name)
        with self._errors(f"suspend {instance.name}"):
            domain.managedSave(0)

    def resume(self, instance: Instance) -> None:
        domain = self._domain(instance.name)
        with self._errors(f"resume {instance.name}"):
            if not domain.hasManagedSaveImage(0):
                raise ExpectationFailed(f"{instance.name} has no managed save image to resume")
            domain.create()

    def snapshot(self, instance: Instance, alias: str) -> str:
        """Freeze the domain, copy its rootfs into the image store, thaw it."""
        domain = self._domain(instance.name)
        tag = f"{self.owner.run_id}-{naming.slug(instance.scenario)}-{naming.slug(alias)}"
        ref = f"{SNAPSHOT_REPO}:{tag}"
        labels = naming.labels(self.owner, naming.KIND_IMAGE, instance.scenario)
        paused_here = False
        with self._errors(f"snapshot {instance.name}"):
            if domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING:
                domain.suspend()
                paused_here = True
            try:
                self.images.add_from(ref, self._instance_dir(instance.name) / "rootfs", labels)
            finally:
                if paused_here:
                    domain.resume()
        return ref

    def rebuild(self, instance: Instance, image: str) -> Instance:
        """Same domain (UUID, name), new root filesystem from `image`, booted again."""
        stored = self.images.get(image)
        domain = self._domain(instance.name)
        rootfs = self._instance_dir(instance.name) / "rootfs"
        with self._errors(f"rebuild {instance.name}"):
            if domain.isActive():
                domain.destroy()
            old = rootfs.with_name(f".old-rootfs-{uuid.uuid4().hex[:8]}")
            os.rename(rootfs, old)
            shutil.rmtree(old, ignore_errors=True)
            shutil.copytree(stored.rootfs, rootfs, symlinks=True)
            domain.create()
        instance.image = image
        return instance

    def delete(self, instance: Instance) -> None:
        self._destroy_everything(instance.name)

    def _destroy_everything(self, name: str) -> None:
        """Stop its console reader, destroy and undefine the domain, remove
        its files. The reader first: its stream's close is answered while
        the domain runs, not once libvirtd closed the stream at the PTY's
        hangup (see ConsoleCapture._detach)."""
        capture = self._consoles.pop(name, None)
        if capture is not None:
            capture.stop()
        with self._errors(f"delete {name}"):
            try:
                domain = self.conn.lookupByName(name)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                domain = None
            if domain is not None:
                self._kill(domain)
                domain.undefine()
        shutil.rmtree(self._instance_dir(name), ignore_errors=True)
        remove_runtime_leftovers(name)

    def _kill(self, domain: libvirt.virDomain) -> None:
        """Stop a domain now. SIGKILL to its init first: `destroy` alone sends
        SIGTERM and waits ~1.6 s when init has no handler yet (just booted)."""
        if not domain.isActive():
            return
        if domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
            domain.resume()  # a frozen task takes no signal, SIGKILL included
        thaw_frozen(domain.name())
        with contextlib.suppress(ContainerCIError):  # destroy below, whatever this did
            self._signal_init(
                domain.name(),
                "kill",
                lambda: domain.sendProcessSignal(1, libvirt.VIR_DOMAIN_PROCESS_SIGNAL_KILL, 0),
                signal.SIGKILL,
                patience=0.0,
            )
        if self.waiter.wait_until(lambda: not domain.isActive(), 2.0):
            return
        if domain.isActive():
            domain.destroy()

    # -- sweeping ---------------------------------------------------------
    def list_owned(self) -> list[OwnedResource]:
        found: dict[str, OwnedResource] = {}
        with self._errors("list owned domains"):
            for domain in self.conn.listAllDomains(0):
                name = domain.name()
                if not name.startswith(naming.PREFIX):
                    continue
                try:
                    labels = parse_labels(
                        domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, 0)
                    )
                except (libvirt.libvirtError, ET.ParseError):
                    continue  # a cci- name without our metadata is not ours
                if labels.get(naming.LABEL_OWNER) == naming.OWNER_VALUE:
                    found[name] = OwnedResource.from_labels(naming.KIND_INSTANCE, name, labels)
        if self.instances_dir.is_dir():
            for directory in self.instances_dir.iterdir():
                if directory.name in found or _being_made(directory.name):
                    continue
                # files of a run killed mid-create
                labels = _read_labels(directory / INSTANCE_META)
                found[directory.name] = OwnedResource.from_labels(
                    naming.KIND_INSTANCE, directory.name, labels
                )
        resources = list(found.values())
        for image in [*self.images.images(), *self.images.interrupted()]:
            if image.labels.get(naming.LABEL_KIND) == naming.KIND_IMAGE:
                resources.append(
                    OwnedResource.from_labels(naming.KIND_IMAGE, image.ref, image.labels)
                )
        return resources

    def sweep(self, run_id: str | None = None, include_live: bool = False) -> list[OwnedResource]:
        removed = super().sweep(run_id, include_live)
        # Files first, domains second: a domain starting meanwhile was defined
        # before its files appeared, so it is in `existing`.
        leftovers = runtime_leftover_names(naming.PREFIX)
        with self._errors("sweep runtime leftovers"):
            existing = {domain.name() for domain in self.conn.listAllDomains(0)}
        for name in leftovers - existing:
            remove_runtime_leftovers(name)
        return removed

    def remove(self, resource: OwnedResource) -> None:
        if resource.kind == naming.KIND_INSTANCE:
            self._destroy_everything(resource.name)
        else:
            self.images.delete(resource.name)


SHUTOFF_REASONS = {
    libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN: "its init exited",
    libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED: "destroyed",
    libvirt.VIR_DOMAIN_SHUTOFF_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_SHUTOFF_FAILED: "failed to start",
    libvirt.VIR_DOMAIN_SHUTOFF_DAEMON: "libvirtd restarted without it",
}
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _init_pid_unknown(exc: libvirt.libvirtError) -> bool:
    """libvirt 9.0 words it "Init pid is not yet available" (sendProcessSignal)
    and "Init process ID is not yet known" (reboot)."""
    message = str(exc).lower()
    return exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID and (
        "init pid" in message or "init process id" in message
    )


def _init_pid(name: str) -> int | None:
    """The domain's init, found without libvirtd: the first child of its
    libvirt_lxc controller, whose pid libvirt keeps in RUNTIME_DIR/<name>.pid
    (a child of any of the controller's threads)."""
    controller = recorded_controller_pid(name)
    if controller is None:
        return None
    try:
        tasks = sorted(Path(f"/proc/{controller}/task").iterdir(), key=lambda t: int(t.name))
        children = [pid for task in tasks for pid in (task / "children").read_text().split()]
    except (OSError, ValueError):
        return None
    return int(children[0]) if children else None


def _pid_namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def _namespace_of(fds: list[int], kind: str) -> str:
    """The namespace of `kind` among open namespace fds ("pid:[4026532]"), or ""."""
    for fd in fds:
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{fd}")
            if link.startswith(f"{kind}:"):
                return link
    return ""


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _libvirt_init_pid(name: str) -> int | None:
    """The init pid libvirtd holds for the domain, from the status file it
    writes whenever that changes (RUNTIME_DIR/<name>.xml, <init pid>): 0
    until the controller reports the new init. libvirt 9.0 never clears it
    when the domain stops, so after a stop/start or a reboot it is the
    previous boot's init until that report comes, and stays so when the
    report is lost (bench/chaos, two runs at once)."""
    try:
        init = ET.parse(RUNTIME_DIR / f"{name}.xml").getroot().find("init")
        return int(init.get("pid", "")) if init is not None else None
    except (OSError, ET.ParseError, ValueError):
        return None


def _current_init(name: str) -> tuple[int | None, bool]:
    """The domain's init (from its controller), and whether libvirtd's
    init pid is that process. When it is not, what libvirt does to "the
    init" goes to a pid that has exited, or, pids being reused, to another
    process: `lxcOpenNamespace` then opens nothing (libvirt skips what it
    cannot open) and an nsenter with no namespaces ran a guest's command on
    the host; a shutdown's SIGTERM can reach another guest's init."""
    pid = _init_pid(name)
    return pid, pid is not None and _libvirt_init_pid(name) == pid


def thaw_frozen(name: str) -> bool:
    """Thaw the domain's freezer cgroup if it is frozen; True if it was.

    bench/chaos: libvirtd killed during a snapshot (which freezes the
    domain for its copy) never thawed it, and the libvirtd started again
    calls it running: its destroy then failed with "Some processes refused
    to die" (frozen tasks take no SIGKILL), on every later sweep, each
    waiting out libvirt's 15 s of trying."""
    pid = _init_pid(name)
    if pid is None:
        return False
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if "freezer" in controllers.split(","):  # cgroup v1, as on these machines
            state, thawed = CGROUP_ROOT / "freezer" / path.lstrip("/") / "freezer.state", "THAWED"
        elif controllers == "" and (CGROUP_ROOT / path.lstrip("/") / "cgroup.freeze").exists():
            state, thawed = CGROUP_ROOT / path.lstrip("/") / "cgroup.freeze", "0"
        else:
            continue
        try:
            if state.read_text().strip() in ("THAWED", "0"):
                return False
            state.write_text(thawed)
        except OSError:
            return False
        return True
    return False


def _process_state(pid: int) -> str:
    """`pid N, state S, waiting in W`: a guest init blocked writing its
    console (n_tty_write) tells a console whose relay stopped from one
    that lost what it was given (bench/chaos: silent consoles, two runs at
    once, whose guests had counted their boot; a new attach read nothing
    either)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = Path(f"/proc/{pid}/wchan").read_text().strip() or "-"
    except (OSError, IndexError):
        return f"pid {pid} (gone)"
    return f"pid {pid}, state {state}, waiting in {wchan}"


# libvirt writes a domain's status file as <name>.xml.new, then renames it
# (virFileRewrite); a libvirtd killed in between leaves the .xml.new, which
# no libvirtd reads again (bench/chaos, a libvirtd fault during a boot).
INTERRUPTED_STATUS_SUFFIX = ".xml.new"


def runtime_entry_domain(entry: str) -> str:
    """The domain an entry of libvirt's LXC runtime dir belongs to:
    <name>.xml, .pid, .sock, .dev, .devpts, .fuse or .xml.new."""
    if entry.endswith(INTERRUPTED_STATUS_SUFFIX):
        return entry[: -len(INTERRUPTED_STATUS_SUFFIX)]
    return entry.rsplit(".", 1)[0]


def runtime_leftover_names(prefix: str) -> set[str]:
    """Names of domains (ours, or Nova's by its template) with something in
    libvirt's LXC runtime dir."""
    return {runtime_entry_domain(path.name) for path in RUNTIME_DIR.glob(f"{prefix}*")}


def remove_runtime_leftovers(name: str) -> None:
    """libvirt 9.0 leaves empty <name>.dev/.devpts/.fuse dirs (and sometimes the
    .sock) in its runtime dir after a domain stops; remove ours once it is gone.
    A libvirtd killed while the domain stopped also leaves its <name>.pid
    (bench/chaos): removed when the controller it names has exited, as is
    the status file a libvirtd killed while it wrote it left half-made.
    Called only once libvirt no longer knows the domain."""
    for suffix in (".dev", ".devpts", ".fuse"):
        with contextlib.suppress(OSError):
            (RUNTIME_DIR / f"{name}{suffix}").rmdir()  # only if empty, never a mount
    for suffix in (".sock", INTERRUPTED_STATUS_SUFFIX):
        with contextlib.suppress(OSError):
            (RUNTIME_DIR / f"{name}{suffix}").unlink()
    controller = recorded_controller_pid(name)
    if controller is not None and not Path(f"/proc/{controller}").exists():
        with contextlib.suppress(OSError):
            (RUNTIME_DIR / f"{name}.pid").unlink()


def _being_made(name: str) -> bool:
    """A staging dir of an instance whose maker still runs (its pid is in
    the name): not a leftover, even before its labels are written."""
    if not name.startswith(STAGING_PREFIX):
        return False
    pid = name[len(STAGING_PREFIX) :].split("-", 1)[0]
    return pid.isdigit() and Owner(run_id="", pid=int(pid), host=socket.gethostname()).is_alive()


def _read_labels(path: Path) -> dict[str, str]:
    try:
        labels: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return labels
