"""Virtualenvs from the locks, Debian packages, and the one subprocess
wrapper."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

from forktool import ForkError
from forktool.layout import Layout


def run(cmd, cwd=None, env=None, what=None, capture=False, ok=(0,),
        input=None, echo=True):
    """Run cmd (echoed unless echo is False); the one subprocess wrapper.

    Fails unless its exit code is in `ok` (None: any).  With capture, the
    output is returned (proc.stdout, proc.stderr) and shown on failure.
    """
    if echo:
        print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr,
              flush=True)
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env,
                          capture_output=capture, input=input,
                          text=capture or input is not None)
    if ok is not None and proc.returncode not in ok:
        out = f":\n{proc.stderr or proc.stdout}" if capture else ""
        raise ForkError(f"{what or cmd[0]} failed (exit {proc.returncode})"
                        f"{out}")
    return proc


def python_of(version: str, where: str = "pins.toml") -> str:
    exe = shutil.which(f"python{version}")
    if exe is None:
        raise ForkError(f"python{version} ({where}) is not on PATH")
    return exe


def _stamp(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def make_venv(python: str, lock: pathlib.Path, venv: pathlib.Path,
              install: list[str]) -> str:
    """Create `venv` with python<python> and the lock, then `install`.

    `install` are pip arguments, installed without dependencies.  Skipped
    when the venv was built from the same lock and arguments.
    """
    if not lock.is_file():
        raise ForkError(f"constraints lock {lock} is missing; "
                        f"create it with `python -m forktool lock`")
    stamp = _stamp(lock.read_text(), *install)
    stamp_file = venv / ".forktool-stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return f"{venv} is up to date"
    if venv.exists():
        shutil.rmtree(venv)
    run([python_of(python), "-m", "venv", venv], what="venv")
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-q", "-r", lock], what="pip install of the lock")
    if install:
        run([*pip, "install", "-q", "--no-deps", *install],
            what=f"pip install of {' '.join(install)}")
    stamp_file.write_text(stamp)
    return f"built {venv}"


def series_venv(layout: Layout) -> str:
    """build/venv-<series>: the lock, and the tree installed editable."""
    layout.need_tree()
    return make_venv(layout.pin.python, layout.pin.constraints, layout.venv,
                     ["-e", str(layout.tree)])


def upstream_venv(layout: Layout, tarball: pathlib.Path) -> str:
    """build/venv-upstream-<series>: the lock, and the pristine sdist."""
    return make_venv(layout.pin.python, layout.pin.constraints,
                     layout.upstream_venv, [str(tarball)])


def tools_venv(layout: Layout) -> str:
    """build/venv-tools: our own tools, and forktool with its console
    script (editable, built with the venv's setuptools)."""
    tools = layout.tools
    return make_venv(tools.python, tools.constraints, layout.tools_venv,
                     ["--no-build-isolation", "-e", str(layout.root)])


def bindep_missing(where: pathlib.Path, tools_bin: pathlib.Path,
                   profile: str = "test") -> list[str]:
    """What where/bindep.txt lists for profile and dpkg lacks."""
    if not (where / "bindep.txt").is_file():
        raise ForkError(f"{where / 'bindep.txt'} is missing")
    # bindep exits 1 when packages are missing and lists them one a line.
    proc = run([tools_bin / "bindep", "-b", profile], cwd=where,
               capture=True, ok=(0, 1), what="bindep", echo=False)
    return proc.stdout.split()


def install_debs(packages: list[str]) -> None:
    """apt-get install packages: the one Debian installer (root only)."""
    if not packages:
        return
    if os.geteuid() != 0:
        raise ForkError("these Debian packages are missing and installing "
                        "them needs root: " + " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=env, what="apt-get update")
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
         *packages], env=env, what="apt-get install")
