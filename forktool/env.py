"""Virtualenvs from the lock, Debian packages from bindep, test runners."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

from forktool import ForkError
from forktool.pins import Pin


def run(cmd, cwd=None, env=None, what=None, capture=False, ok=(0,)):
    """Run cmd, echoed; fail unless its exit code is in `ok`.

    With capture, the output is returned (proc.stdout) and shown on failure.
    """
    print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env,
                          capture_output=capture, text=capture)
    if proc.returncode not in ok:
        out = f":\n{proc.stderr or proc.stdout}" if capture else ""
        raise ForkError(f"{what or cmd[0]} failed (exit {proc.returncode})"
                        f"{out}")
    return proc


def python_of(pin: Pin) -> str:
    exe = shutil.which(f"python{pin.python}")
    if exe is None:
        raise ForkError(f"python{pin.python} (pins.toml, series "
                        f"{pin.series}) is not on PATH")
    return exe


def _stamp(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def make_venv(pin: Pin, venv: pathlib.Path, install: list[str]) -> str:
    """Create `venv` with the lock, then `install` (pip args, no deps).

    Skipped when the venv was built from the same lock and arguments.
    """
    if not pin.constraints.is_file():
        raise ForkError(f"constraints lock {pin.constraints} is missing; "
                        f"create it with `python -m forktool lock`")
    stamp = _stamp(pin.constraints.read_text(), *install)
    stamp_file = venv / ".forktool-stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return f"{venv} is up to date"
    if venv.exists():
        shutil.rmtree(venv)
    run([python_of(pin), "-m", "venv", venv], what="venv")
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "-q", "-r", pin.constraints],
        what="pip install of the lock")
    if install:
        run([*pip, "install", "-q", "--no-deps", *install],
            what="pip install of the tree")
    stamp_file.write_text(stamp)
    return f"built {venv}"


def bindep_missing(tree: pathlib.Path, tools_bin: pathlib.Path,
                   profile: str = "test") -> list[str]:
    proc = subprocess.run([tools_bin / "bindep", "-b", profile], cwd=tree,
                          capture_output=True, text=True)
    # bindep exits 1 when packages are missing and lists them one a line.
    if proc.returncode not in (0, 1):
        raise ForkError(f"bindep failed: {proc.stderr.strip()}")
    return proc.stdout.split()


def install_debs(packages: list[str]) -> None:
    if not packages:
        return
    if os.geteuid() != 0:
        raise ForkError("these Debian packages are missing and installing "
                        "them needs root: " + " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=env, what="apt-get update")
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
         *packages], env=env, what="apt-get install")
