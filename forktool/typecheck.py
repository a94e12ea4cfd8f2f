"""mypy on the tree's typed files, compared with the pristine import.

The tree's `tox -e mypy` checks the files listed in mypy-files.txt with the
[mypy] settings of setup.cfg, or, from 2026.2 (cinder 29) on, the modules and
settings of pyproject.toml's [tool.mypy].  Upstream's own run is not clean
(missing library stubs), so what counts is what the patches add: errors of the
patched tree that the pristine tree does not have.  Errors are compared
without line and column numbers, which the patches shift.
"""

import collections
import configparser
import pathlib
import re
import tempfile
import tomllib

from forktool import env
from forktool import ForkError
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout
from forktool.layout import venv_env

ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: "
                   r"(?P<msg>.*)$")


def _pyproject_mypy(tree: pathlib.Path) -> dict:
    path = tree / "pyproject.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ForkError(f"{path}: not valid TOML: {e}") from None
    return data.get("tool", {}).get("mypy", {})


def _module_file(tree: pathlib.Path, module: str) -> str:
    base = module.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if (tree / candidate).exists():
            return candidate
    raise ForkError(f"{tree}: [tool.mypy] names {module}, which is not in "
                    f"the tree")


def typed_files(tree: pathlib.Path) -> list[str]:
    listing = tree / "mypy-files.txt"
    if listing.exists():
        lines = listing.read_text().splitlines()
        return [ln.strip() for ln in lines
                if ln.strip() and not ln.lstrip().startswith("#")]
    modules = _pyproject_mypy(tree).get("modules")
    if not modules:
        raise ForkError(f"{tree}: no mypy-files.txt and no [tool.mypy] "
                        f"modules in pyproject.toml: which files are typed?")
    return [_module_file(tree, module) for module in modules]


def _ini_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _mypy_sections(tree: pathlib.Path) -> dict[str, dict[str, str]]:
    """The tree's mypy settings as ini sections: setup.cfg or pyproject."""
    src = configparser.RawConfigParser()
    src.read(tree / "setup.cfg")
    sections = {section: dict(src[section]) for section in src.sections()
                if section == "mypy" or section.startswith("mypy-")}
    if sections:
        return sections
    settings = dict(_pyproject_mypy(tree))
    overrides = settings.pop("overrides", [])
    settings.pop("modules", None)       # passed as files, as for setup.cfg
    sections = {"mypy": {k: _ini_value(v) for k, v in settings.items()}}
    for override in overrides:
        override = dict(override)
        names = override.pop("module")
        for name in names if isinstance(names, list) else [names]:
            sections[f"mypy-{name}"] = {k: _ini_value(v)
                                        for k, v in override.items()}
    return sections


def config_text(tree: pathlib.Path) -> str:
    """The tree's mypy settings, without the report written into the tree."""
    out = configparser.RawConfigParser()
    for section, items in _mypy_sections(tree).items():
        out[section] = {k: v for k, v in items.items()
                        if not k.endswith("_report")}
    if not out.has_section("mypy"):
        out["mypy"] = {}
    out["mypy"]["pretty"] = "false"
    lines = []
    for section in out.sections():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in out[section].items()]
        lines.append("")
    return "\n".join(lines)


def errors(output: str) -> collections.Counter:
    """How often each (path, message) error line is in mypy's output.

    A count, not a set: a second copy of an error the pristine tree has once
    in the same file is a new error.
    """
    found: collections.Counter = collections.Counter()
    for line in output.splitlines():
        m = ERROR.match(line.strip())
        if m:
            found[(m.group("path"), m.group("msg").strip())] += 1
    return found


def new_errors(patched: collections.Counter,
               pristine: collections.Counter) -> list[tuple[str, str]]:
    """The errors of the patched tree beyond the pristine tree's, sorted."""
    return sorted((patched - pristine).elements())


def _mypy(layout: Layout, e: dict, where: pathlib.Path, name: str):
    out = layout.mypy_dir
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / f"{name}.ini"
    cfg.write_text(config_text(where))
    # Exit code 1: errors found, compared below.
    proc = env.run(["python", "-m", "mypy", f"--config-file={cfg}",
                    f"--cache-dir={out / f'cache-{name}'}",
                    "--no-error-summary", *typed_files(where)],
                   cwd=where, env=e, what=f"mypy on the {name} tree",
                   capture=True, ok=(0, 1))
    return proc.stdout, errors(proc.stdout)


def run(layout: Layout) -> str:
    """tox -e mypy on the tree; fails on errors the pristine tree lacks."""
    layout.need_tree()
    layout.need_venv()
    e, tree = venv_env(layout.venv), layout.tree
    text, patched = _mypy(layout, e, tree, "patched")
    with tempfile.TemporaryDirectory() as tmp:
        pristine_dir = pathlib.Path(tmp) / "pristine"
        git(tree, "worktree", "add", "--detach", pristine_dir,
            tag(layout.pin))
        try:
            _, pristine = _mypy(layout, e, pristine_dir, "pristine")
        finally:
            git(tree, "worktree", "remove", "--force", pristine_dir,
                check=False)
            git(tree, "worktree", "prune", check=False)
    new = new_errors(patched, pristine)
    summary = (f"mypy ({len(typed_files(tree))} files): "
               f"{sum(patched.values())} errors, {sum(pristine.values())} on "
               f"the pristine tree, {len(new)} new")
    if new:
        print(text)
        raise ForkError(summary + "; errors the patches add:\n" + "\n".join(
            f"  {path}: {msg}" for path, msg in new))
    return summary
