"""The README's test command: what CI runs, as two declarative lists.

The build steps make what is missing and stop at the first failure; the
checks all run, even after one failed, and the suite fails at the end
naming the failed ones.
"""

import os
import sys

from forktool import checks
from forktool import cover
from forktool import env
from forktool import ForkError
from forktool import importcheck
from forktool import sdist
from forktool import tree
from forktool import typecheck
from forktool.layout import Layout


def bindep(layout: Layout, profile: str = "test") -> str:
    """apt-get install what bindep.txt (ours, the tree's) lists as missing."""
    layout.need_tree()
    env.tools_venv(layout)
    tools_bin = layout.tools_venv / "bin"
    missing = sorted({pkg for where in (layout.root, layout.tree)
                      for pkg in env.bindep_missing(where, tools_bin,
                                                    profile)})
    skipped = [pkg for pkg in missing if pkg in layout.pin.bindep_skip]
    if skipped:
        print(f"bindep ({profile}): not installing {' '.join(skipped)} "
              f"(pins.toml bindep_skip)")
        missing = [pkg for pkg in missing if pkg not in skipped]
    if not missing:
        return f"bindep ({profile}): nothing missing"
    print(f"bindep ({profile}): installing {' '.join(missing)}")
    env.install_debs(missing)
    return f"bindep ({profile}): installed {' '.join(missing)}"


def pytest(layout: Layout, args=()) -> str:
    """The tool's own tests and the drill, on this series' venvs."""
    e = dict(os.environ, DRILL_E2E="1", DRILL_WITH_UPSTREAM="1",
             DRILL_OUT=str(layout.drill_out), DRILL_SERIES=layout.series,
             DRILL_PATCHED_VENV=str(layout.venv),
             DRILL_UPSTREAM_VENV=str(layout.upstream_venv))
    env.run([layout.tools_venv / "bin" / "python", "-m", "pytest", "-v",
             *args, "tests"], cwd=layout.root, env=e, what="pytest")
    return "pytest: OK"


EXAMPLES = [("deploy/kubernetes/cinder-volume.yaml",
             "deploy/cinder.conf.d/graceful-shutdown.conf"),
            ("deploy/kubernetes/cinder-backup.yaml",
             "deploy/cinder.conf.d/backup.conf")]


def check_deploy(layout: Layout) -> str:
    tools = layout.tools_venv / "bin"
    for manifest, conf in EXAMPLES:
        env.run([tools / "python", "-m", "forktool", "check-deploy",
                 manifest, conf], cwd=layout.root, what="check-deploy")
    env.run([tools / "kubernetes-validate", "--strict",
             *[m for m, _ in EXAMPLES]], cwd=layout.root,
            what="kubernetes-validate")
    env.run([tools / "yamllint", "-s", "deploy"], cwd=layout.root,
            what="yamllint")
    return "check-deploy: OK (" + ", ".join(m for m, _ in EXAMPLES) + ")"


def build_steps(layout: Layout):
    def tarball():
        return sdist.fetch(layout.pin, layout.cache)
    return [
        ("fork", lambda: tree.materialise(layout, tarball())),
        ("venv", lambda: env.series_venv(layout)),
        ("venv-upstream", lambda: env.upstream_venv(layout, tarball())),
        ("tools-venv", lambda: env.tools_venv(layout)),
        ("bindep", lambda: bindep(layout, "test")),
    ]


def check_steps(layout: Layout, pytest_args=()):
    return [
        ("check-import", lambda: importcheck.check(
            layout, sdist.fetch(layout.pin, layout.cache))),
        ("lint", lambda: checks.lint(layout)),
        ("pep8", lambda: checks.pep8(layout)),
        # The unit slice, run once: under coverage.
        ("unit-slice+cover", lambda: cover.run(layout)),
        ("mypy", lambda: typecheck.run(layout)),
        # The deploy/ examples: the timeout chain, schemas, yamllint.
        ("check-deploy", lambda: check_deploy(layout)),
        # The tool's own tests and the rolling-update drill (patched and
        # upstream side by side; the patched fork's contract is asserted).
        ("pytest", lambda: pytest(layout, pytest_args)),
    ]


def _show(result) -> None:
    if result:
        print(result, flush=True)


def run(layout: Layout, pytest_args=()) -> str:
    for name, step in build_steps(layout):
        print(f"==> {name}", flush=True)
        _show(step())
    failed = []
    for name, step in check_steps(layout, pytest_args):
        print(f"==> {name}", flush=True)
        try:
            _show(step())
        except ForkError as e:
            print(f"forktool: {name} failed: {e}", file=sys.stderr)
            failed.append(name)
    if failed:
        raise ForkError(f"test: failed: {', '.join(failed)}")
    return "test: all steps passed"
