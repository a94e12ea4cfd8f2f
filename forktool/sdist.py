"""Fetch the pinned sdist with pip and check it against its sha256."""

import hashlib
import os
import pathlib
import shutil
import sys
import tarfile
import tempfile

from forktool import env
from forktool import ForkError
from forktool.pins import Pin


def sha256_of(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(pin: Pin, path: pathlib.Path) -> None:
    actual = sha256_of(path)
    if actual != pin.sha256:
        raise ForkError(
            f"sha256 mismatch for {path}:\n"
            f"  pins.toml ({pin.series}) expects {pin.sha256}\n"
            f"  the file has                {actual}\n"
            f"The file was left untouched and nothing was built. If the pin "
            f"is right, delete the file and fetch again; if the upstream "
            f"release changed, update pins.toml on purpose.")


def fetch(pin: Pin, cache: pathlib.Path) -> pathlib.Path:
    """Return the verified sdist, downloading it with pip if not cached.

    A cached file with the wrong checksum is an error, never silently
    replaced by a fresh download.
    """
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / pin.sdist_name
    if target.exists():
        verify(pin, target)
        return target
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--no-binary", ":all:", "--disable-pip-version-check",
               f"{pin.package}=={pin.version}", "-d", tmp]
        print(f"forktool: fetching {pin.package}=={pin.version} with pip",
              file=sys.stderr)
        proc = env.run(cmd, capture=True, ok=None, echo=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-8:])
            raise ForkError(
                f"could not download the sdist {pin.package}=={pin.version} "
                f"with pip (exit {proc.returncode}):\n{tail}")
        got = [p for p in pathlib.Path(tmp).iterdir()
               if p.name.endswith((".tar.gz", ".zip"))]
        if len(got) != 1:
            raise ForkError(f"pip download of {pin.package}=={pin.version} "
                            f"produced {[p.name for p in got]}, expected one "
                            f"sdist")
        verify(pin, got[0])
        shutil.move(str(got[0]), target)
    return target


def members(path: pathlib.Path) -> tuple[str, list[tarfile.TarInfo]]:
    """The sdist's top-level folder and its regular-file members."""
    with tarfile.open(path) as tar:
        infos = tar.getmembers()
    tops = {m.name.split("/", 1)[0] for m in infos}
    if len(tops) != 1:
        raise ForkError(f"{path}: expected one top-level folder, found "
                        f"{sorted(tops)}")
    bad = [m.name for m in infos if not (m.isfile() or m.isdir())]
    if bad:
        raise ForkError(f"{path}: unsupported member types (links, devices) "
                        f"in {bad[:5]}")
    return tops.pop(), [m for m in infos if m.isfile()]


def extract(path: pathlib.Path, dest: pathlib.Path) -> int:
    """Unpack the sdist's top folder into dest; return the PKG-INFO mtime."""
    top, files = members(path)
    stamp = 0
    with tarfile.open(path) as tar:
        for m in files:
            rel = m.name[len(top) + 1:]
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                raise ForkError(f"{path}: unsafe member name {m.name!r}")
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(m) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(out, 0o755 if m.mode & 0o111 else 0o644)
            if rel == "PKG-INFO":
                stamp = int(m.mtime)
    return stamp
