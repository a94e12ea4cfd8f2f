"""The patch queue: patches/<series>/series and its format-patch files."""

import pathlib

from forktool import ForkError


def series_patches(patch_dir: pathlib.Path) -> list[pathlib.Path]:
    """The patches named by patch_dir/series, in order."""
    series = patch_dir / "series"
    if not series.exists():
        return []
    names = [ln.split("#", 1)[0].strip()
             for ln in series.read_text().splitlines()]
    paths = [patch_dir / n for n in names if n]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ForkError(f"{series} names patches that do not exist: "
                        f"{', '.join(missing)}")
    return paths


def write(patch_dir: pathlib.Path, patches: list[pathlib.Path]) -> int:
    """Make the queue hold exactly `patches`, in order; files changed."""
    patch_dir.mkdir(parents=True, exist_ok=True)
    changed = 0
    keep = {p.name for p in patches}
    for old in patch_dir.glob("*.patch"):
        if old.name not in keep:
            old.unlink()
            changed += 1
    for p in patches:
        dest = patch_dir / p.name
        data = p.read_bytes()
        if not dest.exists() or dest.read_bytes() != data:
            dest.write_bytes(data)
            changed += 1
    series = "".join(f"{p.name}\n" for p in patches)
    series_file = patch_dir / "series"
    if not series_file.exists() or series_file.read_text() != series:
        series_file.write_text(series)
        changed += 1
    return changed
