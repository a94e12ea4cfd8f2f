"""forktool publish: what an image build clones, append-only."""

import subprocess

from tests.tool.test_forktool import commit_change
from tests.tool.test_forktool import fork_two_changes_exported
from tests.tool.test_forktool import ft
from tests.tool.test_forktool import git
from tests.tool.test_forktool import project  # noqa: F401 (fixture)
from tests.tool.test_forktool import SERIES

BRANCH = f"stable/{SERIES}-graceful-shutdown"
PREFIX = f"graceful-shutdown/{SERIES}/"


def refs(repo):
    return dict(line.split()[::-1] for line in git(
        repo, "show-ref").splitlines())


def treeless_checkout(repo, ref, where):
    """What LOCI's clone_project.sh does."""
    subprocess.run(["git", "clone", "-q", "--filter=tree:0",
                    f"file://{repo}", str(where)], check=True)
    subprocess.run(["git", "-C", str(where), "checkout", "-q", ref],
                   check=True)
    return where


def test_publish_then_republish(project, tmp_path):  # noqa: F811
    tree = fork_two_changes_exported(project)
    dest = tmp_path / "published.git"
    out = ft(project, "publish", "--to", str(dest)).stdout
    assert f"as {PREFIX}1" in out and f"PROJECT_REF={PREFIX}1" in out
    first = refs(dest)
    assert set(first) == {f"refs/heads/{BRANCH}", f"refs/tags/{PREFIX}1",
                          "refs/tags/1.0"}
    # the upstream tag (pbr's base) is on the pristine import
    assert git(dest, "rev-parse", "1.0^{commit}").strip() == git(
        tree, "rev-parse", "upstream/1.0^{commit}").strip()
    log = git(dest, "log", "--format=%s", BRANCH).splitlines()
    assert log == ["Take the version from git tags: drop the sdist's "
                   "PKG-INFO", "Second change", "[SAP] Change f3",
                   "Import demo 1.0 from the upstream sdist"]
    assert git(dest, "cat-file", "-t", f"{PREFIX}1") == "tag\n"
    assert git(dest, "symbolic-ref", "HEAD") == f"refs/heads/{BRANCH}\n"
    clone = treeless_checkout(dest, f"{PREFIX}1", tmp_path / "c1")
    assert not (clone / "PKG-INFO").exists()
    assert "return 3 * 1" in (clone / "demo" / "core.py").read_text()
    assert "return 7 + 0" in (clone / "demo" / "core.py").read_text()

    # unchanged: nothing
    out = ft(project, "publish", "--to", str(dest)).stdout
    assert "nothing published" in out
    assert refs(dest) == first

    # a changed queue: one commit on top, a new tag, the old one kept
    commit_change(tree, old="return 9\n", new="return 9 - 0\n",
                  title="Third change")
    ft(project, "export")
    out = ft(project, "publish", "--to", str(dest)).stdout
    assert f"as {PREFIX}2" in out
    second = refs(dest)
    assert second[f"refs/tags/{PREFIX}1"] == first[f"refs/tags/{PREFIX}1"]
    assert second["refs/tags/1.0"] == first["refs/tags/1.0"]
    head = second[f"refs/heads/{BRANCH}"]
    assert git(dest, "rev-parse", f"{head}~1").strip() == first[
        f"refs/heads/{BRANCH}"]
    body = git(dest, "log", "-1", "--format=%B", head)
    assert "revision 2" in body and "0003-Third-change.patch" in body
    clone = treeless_checkout(dest, f"{PREFIX}2", tmp_path / "c2")
    assert "return 9 - 0" in (clone / "demo" / "core.py").read_text()


def test_refuses_unexported_work_and_a_rewritten_destination(
        project, tmp_path):  # noqa: F811
    tree = fork_two_changes_exported(project)
    dest = tmp_path / "published.git"
    ft(project, "publish", "--to", str(dest))
    commit_change(tree, old="return 9\n", new="return 9 - 0\n",
                  title="Not exported")
    proc = ft(project, "publish", "--to", str(dest), check=False)
    assert proc.returncode == 1 and "is not exported" in proc.stderr
    git(tree, "reset", "-q", "--hard", "HEAD~1")
    proc = ft(project, "publish", "--to", str(tmp_path / "no" / "x.git"),
              check=False)
    assert proc.returncode == 0     # a new folder becomes a bare repo
    proc = ft(project, "publish", "--to", "https://nowhere.invalid/x.git",
              check=False)
    assert proc.returncode == 1 and "cannot reach" in proc.stderr
