"""Read and validate pins.toml."""

import dataclasses
import pathlib
import re
import tomllib

from forktool import ForkError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIRED = ("package", "version", "sha256", "python", "constraints")


@dataclasses.dataclass(frozen=True)
class Pin:
    series: str
    package: str
    version: str
    sha256: str
    python: str
    constraints: pathlib.Path
    upper_constraints: pathlib.Path | None
    unit_slice: tuple[str, ...]
    # Requirements the upper constraints leave open, capped for the lock.
    lock_pins: tuple[str, ...] = ()
    # Packages of the tree's bindep.txt that this Debian lacks.
    bindep_skip: tuple[str, ...] = ()

    @property
    def sdist_name(self) -> str:
        return f"{self.package}-{self.version}.tar.gz"


@dataclasses.dataclass(frozen=True)
class Tools:
    python: str
    constraints: pathlib.Path


def _read(root: pathlib.Path) -> tuple[pathlib.Path, dict]:
    path = root / "pins.toml"
    try:
        return path, tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ForkError(f"{path} is missing")
    except tomllib.TOMLDecodeError as e:
        raise ForkError(f"{path} is not valid TOML: {e}")


def load_tools(root: pathlib.Path) -> Tools:
    """The [tools] table: the Python and lock of build/venv-tools."""
    path, data = _read(root)
    entry = data.get("tools", {})
    missing = [k for k in ("python", "constraints") if not entry.get(k)]
    if missing:
        raise ForkError(f"{path}: [tools] lacks {', '.join(missing)}")
    return Tools(python=str(entry["python"]),
                 constraints=(root / entry["constraints"]).resolve())


def load(root: pathlib.Path, series: str) -> Pin:
    path, data = _read(root)
    table = data.get("series", {})
    if series not in table:
        known = ", ".join(sorted(table)) or "none"
        raise ForkError(f"series {series!r} is not pinned in {path} "
                        f"(pinned: {known})")
    entry = table[series]
    missing = [k for k in _REQUIRED if not entry.get(k)]
    if missing:
        raise ForkError(f"{path}: series {series!r} lacks "
                        f"{', '.join(missing)}")
    sha = str(entry["sha256"]).lower()
    if not _SHA256.match(sha):
        raise ForkError(f"{path}: series {series!r}: sha256 must be 64 hex "
                        f"digits, got {entry['sha256']!r}")
    upper = entry.get("upper_constraints")
    return Pin(
        series=series,
        package=str(entry["package"]),
        version=str(entry["version"]),
        sha256=sha,
        python=str(entry["python"]),
        constraints=(root / entry["constraints"]).resolve(),
        upper_constraints=(root / upper).resolve() if upper else None,
        unit_slice=tuple(entry.get("unit_slice", ())),
        lock_pins=_strings(path, series, "lock_pins", entry),
        bindep_skip=_strings(path, series, "bindep_skip", entry),
    )


def _strings(path, series, key, entry) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise ForkError(f"{path}: series {series!r}: {key} must be a list "
                        f"of strings, got {value!r}")
    return tuple(value)


def set_version(root: pathlib.Path, series: str, version: str,
                sha256: str) -> None:
    """Pin series to version/sha256 in pins.toml, keeping the rest as is."""
    path = root / "pins.toml"
    lines = path.read_text().splitlines(keepends=True)
    header = f'[series."{series}"]'
    try:
        start = next(i for i, ln in enumerate(lines)
                     if ln.strip() == header)
    except StopIteration:
        raise ForkError(f"{path} has no {header} table")
    done = set()
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        for key, value in (("version", version), ("sha256", sha256)):
            if re.match(rf"^{key}\s*=", lines[i]):
                lines[i] = f'{key} = "{value}"\n'
                done.add(key)
    if done != {"version", "sha256"}:
        raise ForkError(f"{path}: {header} lacks version or sha256")
    path.write_text("".join(lines))
    pin = load(root, series)
    if (pin.version, pin.sha256) != (version, sha256):
        raise ForkError(f"{path}: could not pin {series} to {version}")


def series_names(root: pathlib.Path) -> list[str]:
    """Every pinned series, in pins.toml's order."""
    return list(_read(pathlib.Path(root))[1].get("series", {}))
