"""The constraints locks, with their provenance in the header.

A series' lock: the sdist's requirements resolved with the series' upper
constraints.  The tools' lock: constraints/tools.in resolved with the upper
constraints and the lock of a series.
"""

import configparser
import hashlib
import os
import pathlib
import tempfile

from forktool import env
from forktool import ForkError
from forktool import sdist
from forktool.layout import Layout

# Resolved together with the sdist's requirements (as in the first lock).
EXTRA = ["setuptools<82"]


def _freeze(python: str, args: list) -> list[str]:
    """pip install args into a new venv of python<python>; pip freeze."""
    with tempfile.TemporaryDirectory() as tmp:
        v = pathlib.Path(tmp) / "venv"
        env.run([env.python_of(python), "-m", "venv", v])
        py = v / "bin" / "python"
        env.run([py, "-m", "pip", "install", "-q", *args],
                what="resolving the lock")
        return env.run([py, "-m", "pip", "freeze", "--all"], capture=True,
                       what="pip freeze").stdout.splitlines()


def _upper(layout: Layout) -> pathlib.Path:
    upper = layout.pin.upper_constraints
    if not upper or not upper.is_file():
        raise ForkError(f"upper constraints {upper} not found")
    return upper


def _source(layout: Layout, path: pathlib.Path) -> str:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{os.path.relpath(path, layout.root)} (sha256 {sha})"


def _write(lock: pathlib.Path, head: str, packages: list[str]) -> str:
    lock.write_text(head + "\n".join(packages) + "\n")
    return f"wrote {lock} ({len(packages)} packages)"


def mypy_deps(src: pathlib.Path) -> list[str]:
    """The requirements tox.ini's [testenv:mypy] names itself.

    From cinder 29 on mypy is no longer in test-requirements.txt but only in
    the mypy environment's deps; references ({[testenv]deps}) and options
    (-r ...) are what the other requirements already cover.
    """
    ini = configparser.RawConfigParser()
    try:
        ini.read(src / "tox.ini")
    except configparser.Error as e:
        raise ForkError(f"tox.ini of the sdist: {e}") from None
    if not ini.has_option("testenv:mypy", "deps"):
        return []
    return [ln.strip() for ln in ini.get("testenv:mypy", "deps").splitlines()
            if ln.strip() and not ln.strip().startswith(("-", "#"))
            and "{" not in ln]


def resolve(layout: Layout, tarball: pathlib.Path) -> str:
    """Resolve requirements + test-requirements against upper constraints."""
    pin, upper = layout.pin, _upper(layout)
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        sdist.extract(tarball, src)
        extra_mypy = mypy_deps(src)
        # The Python of the series, as the venvs that install the lock.
        frozen = _freeze(pin.python, [
            "-c", upper, "-r", src / "requirements.txt",
            "-r", src / "test-requirements.txt", *extra_mypy,
            *pin.lock_pins, *EXTRA])
    keep = [ln for ln in frozen if ln.split("==")[0].lower()
            not in ("pip", pin.package)]
    head = (f"# Constraints lock for series {pin.series} "
            f"({pin.package} {pin.version}, Python {pin.python}).\n"
            f"# Produced by: python -m forktool lock --series "
            f"{pin.series}\n"
            f"# from {_source(layout, upper)} with\n"
            f"# {pin.sdist_name}'s requirements.txt + "
            f"test-requirements.txt + "
            + (f"tox.ini [testenv:mypy] deps ({', '.join(extra_mypy)}) + "
               if extra_mypy else "")
            + (f"pins.toml lock_pins ({', '.join(pin.lock_pins)}) + "
               if pin.lock_pins else "")
            + f"{' + '.join(EXTRA)}.\n")
    return _write(pin.constraints, head, keep)


def resolve_tools(layout: Layout) -> str:
    """Resolve constraints/tools.in with the series' upper constraints and
    lock (flake8's family, which upper constraints leave out)."""
    tools, upper = layout.tools, _upper(layout)
    source = tools.constraints.with_suffix(".in")
    if not source.is_file():
        raise ForkError(f"{source} (the tools' requirements) is missing")
    if not layout.pin.constraints.is_file():
        raise ForkError(f"the lock {layout.pin.constraints} is missing")
    frozen = _freeze(tools.python, ["-c", upper, "-c",
                                    layout.pin.constraints, "-r", source])
    keep = sorted((ln for ln in frozen if not ln.lower().startswith(
        ("pip==", "forktool"))), key=str.lower)
    head = (f"# Tools lock (build/venv-tools, Python {tools.python}).\n"
            f"# Produced by: python -m forktool lock --tools --series "
            f"{layout.series}\n"
            f"# from {_source(layout, source)} with\n"
            f"# {_source(layout, upper)} and\n"
            f"# {_source(layout, layout.pin.constraints)}.\n")
    return _write(tools.constraints, head, keep)
