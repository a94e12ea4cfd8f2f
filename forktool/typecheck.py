"""mypy on the tree's typed files, compared with the pristine import.

The tree's `tox -e mypy` checks the files listed in mypy-files.txt with the
[mypy] settings of setup.cfg.  Upstream's own run is not clean (missing
library stubs), so what counts is what the patches add: errors of the
patched tree that the pristine tree does not have.  Errors are compared
without line and column numbers, which the patches shift.
"""

import collections
import configparser
import pathlib
import re
import tempfile

from forktool import env
from forktool import ForkError
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout
from forktool.layout import venv_env

ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: "
                   r"(?P<msg>.*)$")


def typed_files(tree: pathlib.Path) -> list[str]:
    lines = (tree / "mypy-files.txt").read_text().splitlines()
    return [ln.strip() for ln in lines
            if ln.strip() and not ln.lstrip().startswith("#")]


def config_text(tree: pathlib.Path) -> str:
    """setup.cfg's mypy sections, without the report written into the tree."""
    src = configparser.RawConfigParser()
    src.read(tree / "setup.cfg")
    out = configparser.RawConfigParser()
    for section in src.sections():
        if section == "mypy" or section.startswith("mypy-"):
            out[section] = {k: v for k, v in src[section].items()
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
