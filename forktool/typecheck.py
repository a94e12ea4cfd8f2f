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
