"""Files only their owner can read: how container-ci creates its state
(configuration holding passwords, logs that may carry tokens, databases),
and the one-time tightening of state an older container-ci left open.

The state is made private when it is created, not afterwards: `setup`,
`cloud up/down` and `zuul up` run under a umask of 077 (`owner_only`), so
every directory they and the processes they start create is 0700 and every
file 0600, with no moment in between where another local user could open
it. What must stay readable by others (a guest's own file system, a system
daemon's files) is made under the system's usual umask instead, on purpose
(`system_default`). State made before this existed is tightened once by
`tighten`, the only chmod of the scheme."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

OWNER_ONLY = 0o077  # new directories 0700, new files 0600
SYSTEM_DEFAULT = 0o022  # what an init system gives a daemon, and a guest's files get
OPEN_TO_OTHERS = 0o077  # permission bits for the group and for everyone else

Keep = Callable[[Path], bool]


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process's umask is `mask` for the block (the processes it starts
    inherit it), the previous one afterwards."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def owner_only() -> contextlib.AbstractContextManager[None]:
    return umask(OWNER_ONLY)


def system_default() -> contextlib.AbstractContextManager[None]:
    return umask(SYSTEM_DEFAULT)


def write_private(path: Path, text: str) -> None:
    """Replace `path`'s content; a new file is created 0600 whatever the
    umask (an existing one keeps its mode: `tighten` is what narrows it)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def make_dir(path: Path, mode: int) -> None:
    """`path` made with exactly `mode` whatever the umask, if missing: a
    directory another user's process must traverse (PostgreSQL's parent)."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with umask(0):
        path.mkdir(mode=mode, exist_ok=True)


def walk(root: Path, keep: Keep | None = None) -> Iterator[tuple[Path, os.stat_result]]:
    """`root` and everything under it on `root`'s file system (a mounted
    guest disk is not ours to change), without following or yielding
    symlinks; a path `keep` names is skipped with everything under it."""
    try:
        top = root.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(top.st_mode) or (keep is not None and keep(root)):
        return
    yield root, top
    if not stat.S_ISDIR(top.st_mode):
        return
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue  # removed meanwhile (a service's scratch dir), or not ours
        for entry in entries:
            path = Path(entry.path)
            try:
                status = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(status.st_mode) or status.st_dev != top.st_dev:
                continue
            if keep is not None and keep(path):
                continue
            yield path, status
            if stat.S_ISDIR(status.st_mode):
                pending.append(path)


def open_to_others(root: Path, keep: Keep | None = None) -> list[Path]:
    """What `walk` finds that grants the group or others any permission."""
    return sorted(path for path, status in walk(root, keep) if status.st_mode & OPEN_TO_OTHERS)


def tighten(root: Path, keep: Keep | None = None, recursive: bool = True) -> int:
    """State an older container-ci made (0755 directories, 0644 files):
    group and other permissions removed from `root` and, `recursive`,
    from everything `walk` finds under it. Done only when `root` itself is
    open to others, so it happens once; `root` last, so an interrupted run
    is done again next time. Only what this user owns changes (another
    user's file is not our state). Symlinks are never followed; nobody else
    could have put one there, as no directory of ours is writable by
    others. Returns how many paths changed."""
    try:
        top = root.lstat()
    except FileNotFoundError:
        return 0
    mine = os.geteuid()
    if stat.S_ISLNK(top.st_mode) or not top.st_mode & OPEN_TO_OTHERS or top.st_uid != mine:
        return 0
    changed = 0
    if recursive:
        for path, status in walk(root, keep):
            if path != root and status.st_mode & OPEN_TO_OTHERS and status.st_uid == mine:
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(path, stat.S_IMODE(status.st_mode) & ~OPEN_TO_OTHERS)
                    changed += 1
    os.chmod(root, stat.S_IMODE(top.st_mode) & ~OPEN_TO_OTHERS)
    return changed + 1


def redact(text: str, *secrets: str) -> str:
    """`text` with every secret replaced by `***`: for error messages and
    logs that quote a command's output."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
