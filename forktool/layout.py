"""Every path of one series, in one frozen object."""

import dataclasses
import os
import pathlib

from forktool import ForkError
from forktool import pins


@dataclasses.dataclass(frozen=True)
class Layout:
    root: pathlib.Path
    pin: pins.Pin

    @property
    def series(self) -> str:
        return self.pin.series

    @property
    def build(self) -> pathlib.Path:
        return self.root / "build"

    @property
    def cache(self) -> pathlib.Path:
        return self.build / "cache"

    @property
    def tree(self) -> pathlib.Path:
        return self.build / self.series

    @property
    def patch_dir(self) -> pathlib.Path:
        return self.root / "patches" / self.series

    @property
    def venv(self) -> pathlib.Path:
        return self.build / f"venv-{self.series}"

    @property
    def upstream_venv(self) -> pathlib.Path:
        return self.build / f"venv-upstream-{self.series}"

    @property
    def tools_venv(self) -> pathlib.Path:
        return self.build / "venv-tools"

    @property
    def tools(self) -> pins.Tools:
        return pins.load_tools(self.root)

    @property
    def cover_dir(self) -> pathlib.Path:
        return self.build / f"cover-{self.series}"

    @property
    def mypy_dir(self) -> pathlib.Path:
        return self.build / "mypy"

    @property
    def drill_out(self) -> pathlib.Path:
        return self.build / "drill"

    def need_tree(self) -> None:
        if not (self.tree / ".git").is_dir():
            raise ForkError(f"{self.tree} does not exist; run `make fork "
                            f"SERIES={self.series}` first")

    def need_venv(self) -> None:
        if not (self.venv / "bin" / "python").exists():
            raise ForkError(f"{self.venv} does not exist; run `make venv "
                            f"SERIES={self.series}` first")


def load(root, series: str) -> Layout:
    root = pathlib.Path(root).resolve()
    return Layout(root=root, pin=pins.load(root, series))


def venv_env(venv: pathlib.Path) -> dict:
    """The environment of a command run in venv (activated, no PYTHONPATH)."""
    e = dict(os.environ)
    e["PATH"] = f"{venv / 'bin'}{os.pathsep}{e.get('PATH', '')}"
    e["VIRTUAL_ENV"] = str(venv)
    e.pop("PYTHONPATH", None)
    return e
