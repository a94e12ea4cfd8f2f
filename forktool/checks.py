"""The tree's own checks, run in its venv: pep8, the unit tests; and lint
of our own code in the tools venv."""

from forktool import env
from forktool import ForkError
from forktool.layout import Layout
from forktool.layout import venv_env

OWN_CODE = ("forktool", "drill", "bench", "tests")


def pep8(layout: Layout) -> str:
    """What tox -e pep8 runs, in build/venv-<series>."""
    layout.need_tree()
    layout.need_venv()
    e, tree = venv_env(layout.venv), layout.tree
    env.run(["flake8", "."], cwd=tree, env=e, what="flake8")
    env.run(["doc8"], cwd=tree, env=e, what="doc8")
    env.run(["bash", "tools/config/check_uptodate.sh"], cwd=tree, env=e,
            what="check_uptodate.sh (cinder/opts.py)")
    # cinder 28.0.0 (2026.1) dropped it with its move to pre-commit
    if (tree / "tools" / "check_exec.py").exists():
        env.run(["python", "tools/check_exec.py", "cinder", "doc/source/",
                 "releasenotes/notes"], cwd=tree, env=e, what="check_exec")
    return "pep8: OK"


def lint(layout: Layout) -> str:
    """pyflakes and pycodestyle errors in our own Python code."""
    paths = [p for p in OWN_CODE if (layout.root / p).is_dir()]
    env.run([layout.tools_venv / "bin" / "flake8", "--isolated",
             "--select", "E,F", *paths], cwd=layout.root, what="flake8")
    return f"lint: OK ({' '.join(paths)})"


def stestr(layout: Layout, full=False, regex=(), concurrency=None,
           python=None) -> dict:
    """stestr over the slice from pins.toml, the whole suite, or regexes.

    Returns the environment it ran in.
    """
    layout.need_tree()
    layout.need_venv()
    e = venv_env(layout.venv)
    e.update(OS_STDOUT_CAPTURE="1", OS_STDERR_CAPTURE="1",
             OS_TEST_TIMEOUT="60", PYTHONDONTWRITEBYTECODE="1",
             SQLALCHEMY_WARN_20="1")
    if python:
        e["PYTHON"] = python
    filters = list(regex)
    if not full and not filters:
        filters = list(layout.pin.unit_slice)
        if not filters:
            raise ForkError(f"pins.toml has no unit_slice for "
                            f"{layout.series}")
    conc = ["--concurrency", str(concurrency)] if concurrency else []
    env.run(["python", "-m", "stestr", "run", *conc, *filters],
            cwd=layout.tree, env=e, what="stestr")
    return e
