"""forktool rebase: a series moves to a new upstream release (synthetic)."""

import shutil

import pytest

from tests.tool.test_forktool import commit_change
from tests.tool.test_forktool import FILES
from tests.tool.test_forktool import ft
from tests.tool.test_forktool import git
from tests.tool.test_forktool import make_sdist
from tests.tool.test_forktool import project  # noqa: F401 (fixture)
from tests.tool.test_forktool import SERIES
from tests.tool.test_forktool import tree_of


def make_release(root, version, changes):
    """demo-<version>.tar.gz in the cache: FILES with changes applied."""
    files = dict(FILES)
    files["PKG-INFO"] = files["PKG-INFO"].replace("1.0", version)
    core = files["demo/core.py"]
    for old, new in changes:
        assert old in core
        core = core.replace(old, new)
    files["demo/core.py"] = core
    path = root / "build" / "cache" / f"demo-{version}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_sdist(path, files, version, mtime=1700000100)


# 1.1 has the second patch's change already, changes the context of the
# first (f4 follows f3), and the line the third one changes.
UPSTREAM_HAS_SECOND = ("return 7\n", "return 7 + 0\n")
NEXT_TO_FIRST = ("return 4\n", "return 4  # 1.1\n")
CONFLICTS_THIRD = ("return 12\n", "return 12  # 1.1\n")


@pytest.fixture
def queued(project):  # noqa: F811
    """The queue: three patches on demo 1.0."""
    ft(project, "fork")
    tree = tree_of(project)
    commit_change(tree)
    commit_change(tree, old="return 7\n", new="return 7 + 0\n",
                  title="Second change")
    commit_change(tree, old="return 12\n", new="return 12 - 0\n",
                  title="Third change")
    ft(project, "export")
    return project


def queue_of(root):
    return (root / "patches" / SERIES / "series").read_text().split()


def test_conflict_then_continue(queued):
    root, tree = queued, tree_of(queued)
    sha = make_release(root, "1.1", [UPSTREAM_HAS_SECOND, NEXT_TO_FIRST,
                                     CONFLICTS_THIRD])
    proc = ft(root, "rebase", "--to", "1.1", "--sha256", sha, check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "Third change conflicts with 1.1" in err
    assert "demo/core.py: 1 conflict(s)" in err
    assert "upstream |     return 12  # 1.1" in err
    assert "patch |     return 12 - 0" in err
    assert "--continue" in err
    # nothing is pinned or exported before the end
    assert 'version = "1.0"' in (root / "pins.toml").read_text()
    assert len(queue_of(root)) == 3

    refused = ft(root, "rebase", "--continue", check=False)
    assert refused.returncode == 1
    assert "still unresolved" in refused.stderr
    (tree / "demo" / "core.py").write_text(
        (tree / "demo" / "core.py").read_text().split("<<<<<<<")[0]
        + "def f12():\n    return 12 - 0  # 1.1\n\n" +
        (tree / "demo" / "core.py").read_text().split(">>>>>>>")[1]
        .split("\n", 1)[1])
    git(tree, "add", "demo/core.py")
    out = ft(root, "rebase", "--continue").stdout
    assert "rebased 9999.1 from 1.0 to 1.1: 2 patch(es) replayed" in out
    assert "Second change (upstream)" in out
    assert "lock left as it was" in out
    pins = (root / "pins.toml").read_text()
    assert 'version = "1.1"' in pins and f'sha256 = "{sha}"' in pins
    assert queue_of(root) == ["0001-SAP-Change-f3.patch",
                              "0002-Third-change.patch"]
    third = (root / "patches" / SERIES / "0002-Third-change.patch")
    assert "+    return 12 - 0  # 1.1" in third.read_text()
    # The queue builds on the new release from scratch, without fuzz.
    assert "up to date (2 patches)" in ft(root, "fork").stdout
    shutil.rmtree(tree)
    assert "upstream/1.1 + 2 patches" in ft(root, "fork").stdout
    assert ft(root, "check-import").returncode == 0
    core = (tree / "demo" / "core.py").read_text()
    assert "return 3 * 1\n" in core and "return 4  # 1.1\n" in core


def test_clean_rebase_drops_what_upstream_has(queued):
    root = queued
    sha = make_release(root, "1.1", [UPSTREAM_HAS_SECOND, NEXT_TO_FIRST])
    out = ft(root, "rebase", "--to", "1.1", "--sha256", sha).stdout
    assert "2 patch(es) replayed" in out
    assert "dropped: " in out and "Second change (upstream)" in out
    assert queue_of(root) == ["0001-SAP-Change-f3.patch",
                              "0002-Third-change.patch"]
    shutil.rmtree(tree_of(root))
    assert "upstream/1.1 + 2 patches" in ft(root, "fork").stdout


def test_abort_puts_everything_back(queued):
    root, tree = queued, tree_of(queued)
    head = git(tree, "rev-parse", "HEAD")
    queue = {p.name: p.read_bytes()
             for p in (root / "patches" / SERIES).iterdir()}
    pins = (root / "pins.toml").read_text()
    sha = make_release(root, "1.1", [CONFLICTS_THIRD])
    assert ft(root, "rebase", "--to", "1.1", "--sha256", sha,
              check=False).returncode == 1
    again = ft(root, "rebase", "--to", "1.1", "--sha256", sha, check=False)
    assert "in progress" in again.stderr
    assert "aborted" in ft(root, "rebase", "--abort").stdout
    assert git(tree, "rev-parse", "HEAD") == head
    assert git(tree, "tag") == "upstream/1.0\n"
    assert git(tree, "status", "--porcelain") == ""
    assert (root / "pins.toml").read_text() == pins
    assert {p.name: p.read_bytes()
            for p in (root / "patches" / SERIES).iterdir()} == queue
    assert "up to date (3 patches)" in ft(root, "fork").stdout


def test_bad_inputs_are_clear_errors_and_change_nothing(queued):
    root, tree = queued, tree_of(queued)
    head = git(tree, "rev-parse", "HEAD")
    make_release(root, "1.1", [NEXT_TO_FIRST])
    for args, message in (
            (["--to", "1.1", "--sha256", "0" * 64], "sha256 mismatch"),
            (["--to", "1.1", "--sha256", "xyz"], "64 hex digits"),
            (["--to", "1.0", "--sha256", "0" * 64], "already at 1.0"),
            (["--continue"], "no rebase"),
            (["--abort"], "no rebase"),
            ([], "needs --to")):
        proc = ft(root, "rebase", *args, check=False)
        assert proc.returncode == 1, args
        assert message in proc.stderr, (args, proc.stderr)
    assert git(tree, "rev-parse", "HEAD") == head
    assert git(tree, "tag") == "upstream/1.0\n"
    assert 'version = "1.0"' in (root / "pins.toml").read_text()
    (tree / "demo" / "core.py").write_text("edited\n")
    proc = ft(root, "rebase", "--to", "1.1", "--sha256", "0" * 64,
              check=False)
    assert proc.returncode == 1 and "refusing to rebase" in proc.stderr
