"""Command line: forktool <command> [--series S] (or python -m forktool)."""

import argparse
import os
import pathlib
import sys

from forktool import checks
from forktool import cover
from forktool import deploy
from forktool import env
from forktool import ForkError
from forktool import importcheck
from forktool import layout as layout_mod
from forktool import lock
from forktool import matrix
from forktool import onto
from forktool import port
from forktool import publish
from forktool import rebase
from forktool import sdist
from forktool import suite
from forktool import tree
from forktool import typecheck

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_SERIES = "2025.1"


def _tarball(lay):
    return sdist.fetch(lay.pin, lay.cache)


def cmd_fetch(lay, args):
    return f"{_tarball(lay)}: sha256 {lay.pin.sha256} OK"


def cmd_venv(lay, args):
    if args.upstream:
        return env.upstream_venv(lay, _tarball(lay))
    return env.series_venv(lay)


def cmd_unit(lay, args):
    # Some unit tests run Debian tools (qemu-img): install what is missing.
    print(suite.bindep(lay, "test"))
    checks.stestr(lay, args.full, args.regex, args.concurrency)


def cmd_rebase(lay, args):
    if args.resume:
        return rebase.resume(lay)
    if args.abort:
        return rebase.abort(lay)
    if not args.to:
        raise ForkError("rebase needs --to VERSION --sha256 HEX, "
                        "--continue or --abort")
    return rebase.start(lay, args.to, args.sha256)


def cmd_port(lay, args):
    if args.resume:
        return port.resume(lay, args.note)
    if args.abort:
        return port.abort(lay)
    if not args.source:
        raise ForkError("port needs --from SERIES, --continue or --abort")
    return port.start(lay, args.source)


def cmd_lint(lay, args):
    env.tools_venv(lay)
    return checks.lint(lay)


def cmd_tox(lay, args):
    """The tree's own tox, pinned to the lock."""
    lay.need_tree()
    env.tools_venv(lay)
    e = layout_mod.venv_env(lay.tools_venv)
    e["TOX_CONSTRAINTS_FILE"] = str(lay.pin.constraints)
    e["PIP_CONSTRAINT"] = str(lay.pin.constraints)
    tox_args = args.tox_args[1:] if args.tox_args[:1] == ["--"] else \
        args.tox_args
    env.run(["tox", *tox_args], cwd=lay.tree, env=e, what="tox")


COMMANDS = {
    # name: (function(layout, args) -> message or None, help)
    "fetch": (cmd_fetch, "download and verify the pinned sdist"),
    "fork": (lambda lay, a: tree.materialise(lay, _tarball(lay),
                                             force=a.force),
             "materialise build/<series>/ (import + patches)"),
    "export": (lambda lay, a: tree.export(lay),
               "write the tree's commits to patches/<series>/"),
    "apply": (lambda lay, a: onto.apply_onto(lay, a.onto, a.branch,
                                             a.dry_run),
              "apply the queue onto your own checkout (--onto PATH), with "
              "git am -3 on a new branch in a worktree"),
    "rebase": (cmd_rebase,
               "move the series to a new upstream release (--to V "
               "--sha256 H): replay the queue, pin, lock, export"),
    "matrix": (lambda lay, a: matrix.run(
        lay.root, a.only.split(",") if a.only else None,
        quick=not a.full_drill),
        "every series: fork, venv, pep8, unit slice, drill core "
        "scenarios; one table + build/matrix/matrix.json"),
    "check-deploy": (lambda lay, a: deploy.check(a.manifest, a.conf,
                                                 a.longest_op),
                     "check a manifest + cinder.conf against the "
                     "shutdown's timeout chain (needs PyYAML: the tools' "
                     "venv)"),
    "port": (cmd_port,
             "cherry-pick another series' queue onto this one (--from S): "
             "-x, a Conflicts: note per resolved patch, then export"),
    "publish": (lambda lay, a: publish.publish(lay, a.to),
                "a branch + an annotated tag per revision in a git "
                "repository an image build clones (--to DIR|URL)"),
    "check-import": (lambda lay, a: importcheck.check(lay, _tarball(lay)),
                     "verify the import commit is byte-identical to the "
                     "sdist"),
    "venv": (cmd_venv, "build/venv-<series>/ from the lock + tree (-e)"),
    "tools-venv": (lambda lay, a: env.tools_venv(lay),
                   "build/venv-tools/ (forktool, pytest, tox, bindep, "
                   "matplotlib) from the [tools] lock"),
    "bindep": (lambda lay, a: suite.bindep(lay, a.profile),
               "apt-get install what the tree's bindep.txt lists as "
               "missing"),
    "pep8": (lambda lay, a: checks.pep8(lay),
             "flake8, doc8, opts and exec checks (tox -e pep8)"),
    "unit": (cmd_unit,
             "cinder unit tests (stestr): the slice from pins.toml, or "
             "--full"),
    "cover": (lambda lay, a: cover.run(lay, a.full, a.regex, a.concurrency,
                                       a.fail_under),
              "unit tests under coverage (the slice, --full or regexes); "
              "coverage of the lines the patches add"),
    "lint": (cmd_lint, "flake8 (pyflakes, pycodestyle errors) on our own "
             "code: " + ", ".join(checks.OWN_CODE)),
    "mypy": (lambda lay, a: typecheck.run(lay),
             "mypy on mypy-files.txt (tox -e mypy); fails on errors the "
             "pristine tree does not have"),
    "tox": (cmd_tox, "the tree's own tox with TOX_CONSTRAINTS_FILE=lock"),
    "lock": (lambda lay, a: lock.resolve_tools(lay) if a.tools else
             lock.resolve(lay, _tarball(lay)),
             "regenerate the series' constraints lock (--tools: the tools' "
             "lock, from constraints/tools.in)"),
    "test": (lambda lay, a: suite.run(lay, a.pytest_args),
             "what CI runs: build what is missing, then check-import, "
             "lint, pep8, the unit slice under coverage, mypy, tool tests "
             "and the drill"),
}


def parser():
    p = argparse.ArgumentParser(prog="forktool", description=__doc__)
    p.add_argument("--root", default=os.environ.get("FORKTOOL_ROOT", ROOT),
                   help="project folder holding pins.toml "
                        "(default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)
    sps = {}
    for name, (fn, help_) in COMMANDS.items():
        sp = sps[name] = sub.add_parser(name, help=help_)
        sp.add_argument("--series", default=DEFAULT_SERIES)
        sp.set_defaults(fn=fn)
    sps["fork"].add_argument("--force", action="store_true",
                             help="discard uncommitted or unexported work")
    sps["venv"].add_argument("--upstream", action="store_true",
                             help="build/venv-upstream-<series>/ with the "
                                  "pristine sdist instead")
    sps["bindep"].add_argument("--profile", default="test")
    for name in ("unit", "cover"):
        sps[name].add_argument("--full", action="store_true")
        sps[name].add_argument("--concurrency", type=int)
        sps[name].add_argument("regex", nargs="*")
    sps["cover"].add_argument("--fail-under", type=float,
                              default=cover.FAIL_UNDER,
                              help="minimum percentage (default: "
                                   "%(default)s)")
    sps["apply"].add_argument("--onto", required=True, metavar="PATH",
                              help="your git checkout (left untouched)")
    sps["apply"].add_argument("--branch",
                              help="the new branch (default: "
                                   "graceful-shutdown/<series>)")
    sps["apply"].add_argument("--dry-run", action="store_true",
                              help="report whether it applies; keep "
                                   "nothing")
    sps["rebase"].add_argument("--to", metavar="VERSION")
    sps["rebase"].add_argument("--sha256", help="the new sdist's sha256")
    steps = sps["rebase"].add_mutually_exclusive_group()
    steps.add_argument("--continue", dest="resume", action="store_true",
                       help="resume after resolving a conflict")
    steps.add_argument("--abort", action="store_true",
                       help="undo the rebase in progress")
    sps["matrix"].add_argument("--only", metavar="S1,S2",
                               help="these series (default: every one)")
    sps["matrix"].add_argument("--full-drill", action="store_true",
                               help="the drill's full durations, not "
                                    "--quick")
    sps["check-deploy"].add_argument("manifest")
    sps["check-deploy"].add_argument("conf")
    sps["check-deploy"].add_argument("--longest-op", type=int,
                                     metavar="SECONDS",
                                     help="instead of the manifest's "
                                          "annotation")
    sps["port"].add_argument("--from", dest="source", metavar="SERIES")
    sps["port"].add_argument("--note", help="with --continue: how the "
                             "conflicts were resolved")
    steps = sps["port"].add_mutually_exclusive_group()
    steps.add_argument("--continue", dest="resume", action="store_true")
    steps.add_argument("--abort", action="store_true")
    sps["publish"].add_argument("--to", metavar="DIR|URL",
                                help="default: build/publish.git")
    sps["tox"].add_argument("tox_args", nargs=argparse.REMAINDER)
    sps["lock"].add_argument("--tools", action="store_true",
                             help="the tools' lock instead")
    sps["test"].add_argument("pytest_args", nargs="*")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        result = args.fn(layout_mod.load(args.root, args.series), args)
    except ForkError as e:
        print(f"forktool: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if result:
        print(result)
    return 0
