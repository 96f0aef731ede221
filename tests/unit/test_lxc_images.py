"""The LXC image store under a SIGKILL mid-snapshot (bench/chaos found its
staging dir left for good, unknown to the sweep)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

from container_ci.targets import lxc_images
from container_ci.targets.lxc_images import LxcImageStore

LABELS = {"container-ci.kind": "image", "container-ci.run-id": "tkill"}


def add_then_die_mid_copy(root: str, source: str) -> None:
    """In a child: the copy SIGKILLs its own process, as the bench's fault does."""

    def killed_mid_copy(*_args: object, **_kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    lxc_images.shutil.copytree = killed_mid_copy  # type: ignore[assignment]
    LxcImageStore(Path(root)).add_from("cci-snap:tkill-snapshot-snap", Path(source), LABELS)


def test_a_copy_killed_half_way_is_listed_with_its_labels_and_deletable(tmp_path: Path):
    source = tmp_path / "rootfs"
    (source / "etc").mkdir(parents=True)
    (source / "etc" / "cci-image").write_text("base\n")
    store = LxcImageStore(tmp_path / "images")
    child = multiprocessing.get_context("fork").Process(
        target=add_then_die_mid_copy, args=(str(store.root), str(source))
    )
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert list(store.images()) == []  # never shown as an image
    [left] = list(store.interrupted())
    assert left.ref.startswith("cci-snap:.staging-tkill-snapshot-snap-")
    assert left.labels == LABELS
    store.delete(left.ref)
    assert list(store.interrupted()) == []
    assert [p.name for p in (store.root / "cci-snap").iterdir()] == []


def test_a_whole_copy_is_an_image_and_leaves_no_staging_dir(tmp_path: Path):
    source = tmp_path / "rootfs"
    (source / "etc").mkdir(parents=True)
    (source / "etc" / "cci-image").write_text("base\n")
    store = LxcImageStore(tmp_path / "images")
    stored = store.add_from("cci-snap:tkill-whole", source, LABELS)
    assert (stored.rootfs / "etc" / "cci-image").read_text() == "base\n"
    assert [image.ref for image in store.images()] == ["cci-snap:tkill-whole"]
    assert list(store.interrupted()) == []
