"""Command line: python -m forktool <command> [--series S] ..."""

import argparse
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

from forktool import cover
from forktool import env
from forktool import ForkError
from forktool import pins
from forktool import sdist
from forktool import tree
from forktool import typecheck

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_SERIES = "2025.1"


class Ctx:
    def __init__(self, args):
        self.root = pathlib.Path(args.root).resolve()
        self.pin = pins.load(self.root, args.series)
        self.build = self.root / "build"
        self.tree = self.build / self.pin.series
        self.venv = self.build / f"venv-{self.pin.series}"
        self.upstream_venv = self.build / f"venv-upstream-{self.pin.series}"
        self.tools_venv = self.build / "venv-tools"

    def sdist(self):
        return sdist.fetch(self.pin, self.build / "cache")

    def venv_env(self, venv):
        e = dict(os.environ)
        e["PATH"] = f"{venv / 'bin'}{os.pathsep}{e.get('PATH', '')}"
        e["VIRTUAL_ENV"] = str(venv)
        e.pop("PYTHONPATH", None)
        return e

    def need_tree(self):
        if not (self.tree / ".git").is_dir():
            raise ForkError(f"{self.tree} does not exist; run `make fork "
                            f"SERIES={self.pin.series}` first")

    def need_venv(self):
        if not (self.venv / "bin" / "python").exists():
            raise ForkError(f"{self.venv} does not exist; run `make venv "
                            f"SERIES={self.pin.series}` first")


def cmd_fetch(ctx, args):
    print(f"{ctx.sdist()}: sha256 {ctx.pin.sha256} OK")


def cmd_fork(ctx, args):
    print(tree.materialise(ctx.root, ctx.pin, ctx.sdist(), force=args.force))


def cmd_export(ctx, args):
    print(tree.export(ctx.root, ctx.pin))


def cmd_check_import(ctx, args):
    """Compare the import commit with the sdist, file by file, byte by byte."""
    ctx.need_tree()
    tarball = ctx.sdist()
    top, files = sdist.members(tarball)
    listed = tree.git(ctx.tree, "ls-tree", "-r", "-z", "--full-tree",
                      tree.tag(ctx.pin)).stdout.split("\0")
    in_git = {}
    for entry in filter(None, listed):
        meta, path = entry.split("\t", 1)
        mode, _, sha = meta.split()
        in_git[path] = (mode, sha)
    problems = []
    with tarfile.open(tarball) as tar:
        for m in files:
            rel = m.name[len(top) + 1:]
            if rel not in in_git:
                problems.append(f"missing from the import: {rel}")
                continue
            mode, sha = in_git.pop(rel)
            data = tar.extractfile(m).read()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            if blob != sha:
                problems.append(f"content differs: {rel}")
            want = "100755" if m.mode & 0o111 else "100644"
            if mode != want:
                problems.append(f"mode {mode} != {want}: {rel}")
    problems += [f"not in the sdist: {p}" for p in sorted(in_git)]
    if problems:
        raise ForkError(f"{tree.tag(ctx.pin)} differs from {tarball.name}:\n"
                        + "\n".join(problems[:50]))
    print(f"{tree.tag(ctx.pin)} is byte-identical to {tarball.name} "
          f"({len(files)} files)")


def cmd_venv(ctx, args):
    if args.upstream:
        print(env.make_venv(ctx.pin, ctx.upstream_venv, [str(ctx.sdist())]))
        return
    ctx.need_tree()
    print(env.make_venv(ctx.pin, ctx.venv, ["-e", str(ctx.tree)]))


def cmd_tools_venv(ctx, args):
    lock = ctx.root / "constraints" / "tools.txt"
    pin = pins.Pin(**{**ctx.pin.__dict__, "constraints": lock})
    print(env.make_venv(pin, ctx.tools_venv, []))


def cmd_bindep(ctx, args):
    ctx.need_tree()
    cmd_tools_venv(ctx, args)
    missing = env.bindep_missing(ctx.tree, ctx.tools_venv / "bin",
                                 args.profile)
    if not missing:
        print(f"bindep ({args.profile}): nothing missing")
        return
    print(f"bindep ({args.profile}): installing {' '.join(missing)}")
    env.install_debs(missing)


def cmd_pep8(ctx, args):
    """What tox -e pep8 runs, in build/venv-<series>."""
    ctx.need_tree()
    ctx.need_venv()
    e = ctx.venv_env(ctx.venv)
    env.run(["flake8", "."], cwd=ctx.tree, env=e, what="flake8")
    env.run(["doc8"], cwd=ctx.tree, env=e, what="doc8")
    env.run(["bash", "tools/config/check_uptodate.sh"], cwd=ctx.tree, env=e,
            what="check_uptodate.sh (cinder/opts.py)")
    env.run(["python", "tools/check_exec.py", "cinder", "doc/source/",
             "releasenotes/notes"], cwd=ctx.tree, env=e, what="check_exec")
    print("pep8: OK")


def _stestr(ctx, args, python=None):
    """stestr over the slice from pins.toml, --full or the given regexes."""
    ctx.need_tree()
    ctx.need_venv()
    e = ctx.venv_env(ctx.venv)
    e.update(OS_STDOUT_CAPTURE="1", OS_STDERR_CAPTURE="1",
             OS_TEST_TIMEOUT="60", PYTHONDONTWRITEBYTECODE="1",
             SQLALCHEMY_WARN_20="1")
    if python:
        e["PYTHON"] = python
    if args.full:
        filters = args.regex
    else:
        filters = args.regex or list(ctx.pin.unit_slice)
        if not filters:
            raise ForkError(f"pins.toml has no unit_slice for "
                            f"{ctx.pin.series}")
    conc = ["--concurrency", str(args.concurrency)] if args.concurrency else []
    env.run(["python", "-m", "stestr", "run", *conc, *filters],
            cwd=ctx.tree, env=e, what="stestr")
    return e


def cmd_unit(ctx, args):
    _stestr(ctx, args)


def cmd_cover(ctx, args):
    """Unit tests under coverage; coverage of the lines the patches add."""
    out = ctx.build / f"cover-{ctx.pin.series}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rc = out / "coveragerc"
    rc.write_text(cover.rcfile_text(ctx.pin.package, out / ".coverage"))
    e = _stestr(ctx, args, python=f"python -m coverage run --rcfile={rc}")
    # Run in the tree: the reports name files relative to it.
    for step in (["combine", "-q"],
                 ["json", "-q", "-o", out / "coverage.json"],
                 ["html", "-q", "-d", out / "html"]):
        env.run(["python", "-m", "coverage", step[0], f"--rcfile={rc}",
                 *step[1:]], cwd=ctx.tree, env=e, what=f"coverage {step[0]}")
    base = tree.tag(ctx.pin)
    # Against the working tree: the tests ran on it.
    diff = tree.git(ctx.tree, "diff", "-U0", "--no-color", "--no-renames",
                    base).stdout
    added = cover.added_lines(diff, f"{ctx.pin.package}/tests/")
    if not added:
        raise ForkError(f"the patches add no code outside the tests "
                        f"(diff from {base})")
    script = out / "analyse.py"
    script.write_text(cover.ANALYSE)
    env.run(["python", script, rc, out / "analysis.json", *sorted(added)],
            cwd=ctx.tree, env=e, what="coverage analysis")
    text, pct = cover.table(cover.measure(
        cover.load_json(out / "analysis.json"), added))
    print(f"coverage of the code lines added since {base} (statements; "
          f"HTML: {out / 'html'}):")
    print(text)
    report = cover.load_json(out / "coverage.json")
    new = tree.git(ctx.tree, "diff", "--name-only", "--diff-filter=A",
                   base).stdout.split()
    for path in new:
        if path in added and path in report.get("files", {}):
            print(cover.new_file_summary(report, path))
    if pct < args.fail_under:
        raise ForkError(f"coverage of the added lines {pct:.1f}% is below "
                        f"{args.fail_under}%")


def cmd_lint(ctx, args):
    """pyflakes and pycodestyle errors in our own Python code."""
    cmd_tools_venv(ctx, args)
    paths = [p for p in ("forktool", "drill", "bench", "tests")
             if (ctx.root / p).is_dir()]
    env.run([ctx.tools_venv / "bin" / "flake8", "--isolated",
             "--select", "E,F", *paths], cwd=ctx.root, what="flake8")
    print(f"lint: OK ({' '.join(paths)})")


def _mypy(ctx, e, where, name):
    out = ctx.build / "mypy"
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / f"{name}.ini"
    cfg.write_text(typecheck.config_text(where))
    # Exit code 1: errors found, compared below.
    proc = env.run(["python", "-m", "mypy", f"--config-file={cfg}",
                    f"--cache-dir={out / f'cache-{name}'}",
                    "--no-error-summary", *typecheck.typed_files(where)],
                   cwd=where, env=e, what=f"mypy on the {name} tree",
                   capture=True, ok=(0, 1))
    return proc.stdout, typecheck.errors(proc.stdout)


def cmd_mypy(ctx, args):
    """tox -e mypy on the tree; fails on errors the pristine tree lacks."""
    ctx.need_tree()
    ctx.need_venv()
    e = ctx.venv_env(ctx.venv)
    text, patched = _mypy(ctx, e, ctx.tree, "patched")
    with tempfile.TemporaryDirectory() as tmp:
        pristine_dir = pathlib.Path(tmp) / "pristine"
        tree.git(ctx.tree, "worktree", "add", "--detach", pristine_dir,
                 tree.tag(ctx.pin))
        try:
            _, pristine = _mypy(ctx, e, pristine_dir, "pristine")
        finally:
            tree.git(ctx.tree, "worktree", "remove", "--force",
                     pristine_dir, check=False)
            tree.git(ctx.tree, "worktree", "prune", check=False)
    new = typecheck.new_errors(patched, pristine)
    print(f"mypy ({len(typecheck.typed_files(ctx.tree))} files): "
          f"{sum(patched.values())} errors, {sum(pristine.values())} on the "
          f"pristine tree, "
          f"{len(new)} new")
    if new:
        print(text)
        raise ForkError("mypy: errors the patches add:\n" + "\n".join(
            f"  {path}: {msg}" for path, msg in new))


def cmd_tox(ctx, args):
    """The tree's own tox, pinned to the lock."""
    ctx.need_tree()
    cmd_tools_venv(ctx, args)
    e = ctx.venv_env(ctx.tools_venv)
    e["TOX_CONSTRAINTS_FILE"] = str(ctx.pin.constraints)
    e["PIP_CONSTRAINT"] = str(ctx.pin.constraints)
    tox_args = args.tox_args[1:] if args.tox_args[:1] == ["--"] else \
        args.tox_args
    env.run(["tox", *tox_args], cwd=ctx.tree, env=e, what="tox")


def cmd_lock(ctx, args):
    """Resolve requirements + test-requirements against upper constraints."""
    upper = ctx.pin.upper_constraints
    if not upper or not upper.is_file():
        raise ForkError(f"upper constraints {upper} not found")
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        sdist.extract(ctx.sdist(), src)
        v = pathlib.Path(tmp) / "venv"
        # The Python of the series, as the venvs that install the lock.
        env.run([env.python_of(ctx.pin), "-m", "venv", v])
        py = v / "bin" / "python"
        env.run([py, "-m", "pip", "install", "-q", "-c", upper,
                 "-r", src / "requirements.txt",
                 "-r", src / "test-requirements.txt", "setuptools<82"],
                what="resolving the lock")
        frozen = subprocess.run([py, "-m", "pip", "freeze", "--all"],
                                capture_output=True, text=True,
                                check=True).stdout.splitlines()
    keep = [ln for ln in frozen if ln.split("==")[0].lower()
            not in ("pip", ctx.pin.package)]
    upper_sha = hashlib.sha256(upper.read_bytes()).hexdigest()
    head = (f"# Constraints lock for series {ctx.pin.series} "
            f"({ctx.pin.package} {ctx.pin.version}, Python "
            f"{ctx.pin.python}).\n"
            f"# Produced by: python -m forktool lock --series "
            f"{ctx.pin.series}\n"
            f"# from {os.path.relpath(upper, ctx.root)} (sha256 "
            f"{upper_sha}) with\n"
            f"# {ctx.pin.sdist_name}'s requirements.txt + "
            f"test-requirements.txt + setuptools<82.\n")
    ctx.pin.constraints.write_text(head + "\n".join(keep) + "\n")
    print(f"wrote {ctx.pin.constraints} ({len(keep)} packages)")


def cmd_test(ctx, args):
    """The README's test command: everything CI runs.

    Builds what is missing, then runs every check even when an earlier one
    failed, and fails at the end naming the failed ones.
    """
    pytest_env = dict(os.environ, DRILL_E2E="1", DRILL_WITH_UPSTREAM="1",
                      DRILL_OUT=str(ctx.build / "drill"))
    build = [
        ("fork", lambda: cmd_fork(ctx, argparse.Namespace(force=False))),
        ("venv", lambda: cmd_venv(ctx, argparse.Namespace(upstream=False))),
        ("venv-upstream", lambda: cmd_venv(
            ctx, argparse.Namespace(upstream=True))),
        ("bindep", lambda: cmd_bindep(ctx, argparse.Namespace(
            profile="test"))),
    ]
    checks = [
        ("check-import", lambda: cmd_check_import(ctx, args)),
        ("lint", lambda: cmd_lint(ctx, args)),
        ("pep8", lambda: cmd_pep8(ctx, args)),
        # The unit slice, run once: under coverage.
        ("unit-slice+cover", lambda: cmd_cover(ctx, argparse.Namespace(
            full=False, regex=[], concurrency=None,
            fail_under=cover.FAIL_UNDER))),
        ("mypy", lambda: cmd_mypy(ctx, args)),
        # The tool's own tests and the rolling-update drill (patched and
        # upstream side by side; the patched fork's contract is asserted).
        ("pytest", lambda: env.run(
            [ctx.tools_venv / "bin" / "python", "-m", "pytest", "-v",
             "-p", "no:cacheprovider", *args.pytest_args, "tests"],
            cwd=ctx.root, env=pytest_env, what="pytest")),
    ]
    for name, step in build:
        print(f"==> {name}", flush=True)
        step()
    failed = []
    for name, step in checks:
        print(f"==> {name}", flush=True)
        try:
            step()
        except ForkError as e:
            print(f"forktool: {name} failed: {e}", file=sys.stderr)
            failed.append(name)
    if failed:
        raise ForkError(f"test: failed: {', '.join(failed)}")
    print("test: all steps passed")


def parser():
    p = argparse.ArgumentParser(prog="forktool", description=__doc__)
    p.add_argument("--root", default=os.environ.get("FORKTOOL_ROOT", ROOT),
                   help="project folder holding pins.toml "
                        "(default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, fn, help_):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--series", default=DEFAULT_SERIES)
        sp.set_defaults(fn=fn)
        return sp

    add("fetch", cmd_fetch, "download and verify the pinned sdist")
    add("fork", cmd_fork, "materialise build/<series>/ (import + patches)"
        ).add_argument("--force", action="store_true",
                       help="discard uncommitted or unexported work")
    add("export", cmd_export, "write the tree's commits to patches/<series>/")
    add("check-import", cmd_check_import,
        "verify the import commit is byte-identical to the sdist")
    add("venv", cmd_venv, "build/venv-<series>/ from the lock + tree (-e)"
        ).add_argument("--upstream", action="store_true",
                       help="build/venv-upstream-<series>/ with the pristine "
                            "sdist instead")
    add("tools-venv", cmd_tools_venv, "build/venv-tools/ (pytest, tox, "
        "bindep, matplotlib) from constraints/tools.txt")
    add("bindep", cmd_bindep, "apt-get install what the tree's bindep.txt "
        "lists as missing").add_argument("--profile", default="test")
    add("pep8", cmd_pep8, "flake8, doc8, opts and exec checks (tox -e pep8)")
    u = add("unit", cmd_unit, "cinder unit tests (stestr): the slice from "
            "pins.toml, or --full")
    u.add_argument("--full", action="store_true")
    u.add_argument("--concurrency", type=int)
    u.add_argument("regex", nargs="*")
    c = add("cover", cmd_cover, "unit tests under coverage (the slice, "
            "--full or regexes); coverage of the lines the patches add")
    c.add_argument("--full", action="store_true")
    c.add_argument("--concurrency", type=int)
    c.add_argument("--fail-under", type=float, default=cover.FAIL_UNDER,
                   help="minimum percentage (default: %(default)s)")
    c.add_argument("regex", nargs="*")
    add("lint", cmd_lint, "flake8 (pyflakes, pycodestyle errors) on our "
        "own code: forktool, drill, bench, tests")
    add("mypy", cmd_mypy, "mypy on mypy-files.txt (tox -e mypy); fails on "
        "errors the pristine tree does not have")
    add("tox", cmd_tox, "the tree's own tox with TOX_CONSTRAINTS_FILE=lock"
        ).add_argument("tox_args", nargs=argparse.REMAINDER)
    add("lock", cmd_lock, "regenerate the constraints lock")
    add("test", cmd_test, "what CI runs: build what is missing, then "
        "check-import, lint, pep8, the unit slice under coverage, mypy, "
        "tool tests and the drill"
        ).add_argument("pytest_args", nargs="*")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.fn(Ctx(args), args)
    except ForkError as e:
        print(f"forktool: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
