"""forktool apply --onto: the queue onto a downstream checkout of its own.

The downstream repository is built from its own history (not from our
import), carries commits of its own touching the files the queue changes,
and so lacks the blobs the patches' index lines name.
"""

import pathlib
import subprocess

import pytest

from tests.tool.test_forktool import ft
from tests.tool.test_forktool import git
from tests.tool.test_forktool import make_sdist
from tests.tool.test_forktool import new_project
from tests.tool.test_forktool import SERIES

FILES = {
    "cinder/service.py": "".join(f"def s{i}():\n    return {i}\n\n"
                                 for i in range(30)),
    "cinder/volume/manager.py": "".join(f"def v{i}():\n    return {i}\n\n"
                                        for i in range(30)),
    "cinder/backup/manager.py": "".join(f"def b{i}():\n    return {i}\n\n"
                                        for i in range(30)),
    "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
}


def edit(tree, path, old, new):
    f = pathlib.Path(tree) / path
    text = f.read_text()
    assert old in text, (path, old)
    f.write_text(text.replace(old, new, 1))


@pytest.fixture
def project(tmp_path):
    """A project whose queue changes s10, v10 and b10 (one patch)."""
    root = tmp_path / "proj"
    (root / "build" / "cache").mkdir(parents=True)
    sha = make_sdist(root / "build" / "cache" / "demo-1.0.tar.gz", FILES)
    new_project(root, {SERIES: ("1.0", sha)})
    ft(root, "fork")
    tree = root / "build" / SERIES
    for path, name in (("cinder/service.py", "s"),
                       ("cinder/volume/manager.py", "v"),
                       ("cinder/backup/manager.py", "b")):
        edit(tree, path, f"def {name}10():\n    return 10\n",
             f"def {name}10():\n    return 10 * 2\n")
    git(tree, "commit", "-qam", "[SAP] Graceful shutdown\n\nWhy.\n\n"
        f"Change-Id: I{'2' * 40}")
    ft(root, "export")
    return root


@pytest.fixture
def downstream(tmp_path):
    """A checkout of its own history: upstream git, then ours.

    Its upstream point is not the sdist's: no file of the sdist is a blob
    of its history.
    """
    repo = tmp_path / "downstream"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "stable/m3")
    for path, text in FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text + "# from upstream git\n")
        git(repo, "add", path)
        git(repo, "commit", "-qm", f"upstream {path}")
    # Downstream commits touching the same files, next to the queue's
    # hunks (within their context lines, so plain `git am` fails) and
    # elsewhere.
    for path, name in (("cinder/service.py", "s"),
                       ("cinder/volume/manager.py", "v"),
                       ("cinder/backup/manager.py", "b")):
        edit(repo, path, f"def {name}9():\n    return 9\n",
             f"def {name}9():\n    return 9  # SAP\n")
        edit(repo, path, f"def {name}25():\n", f"def {name}25_sap():\n")
        git(repo, "commit", "-qam", f"[SAP] downstream change of {path}")
    return repo


def state(repo):
    return (git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
            git(repo, "rev-parse", "HEAD"),
            git(repo, "status", "--porcelain"))


def onto(project, repo, *args, check=True):
    return ft(project, "apply", "--onto", str(repo), *args, check=check)


def test_premise_plain_git_am_3_cannot_merge(project, downstream, tmp_path):
    """Without our import's blobs, git am -3 has no base to merge from."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(downstream), str(clone))
    patch = sorted((project / "patches" / SERIES).glob("*.patch"))[0]
    proc = subprocess.run(
        ["git", "-c", "user.name=x", "-c", "user.email=x@x", "am", "-3",
         str(patch)], cwd=clone, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "necessary blobs to fall back on 3-way" in proc.stderr


def test_applies_on_a_new_branch_leaving_theirs_alone(project, downstream):
    before = state(downstream)
    out = onto(project, downstream).stdout
    assert "3-way merged: 0001-SAP-Graceful-shutdown.patch" in out
    assert "stable/m3 is untouched" in out
    assert state(downstream) == before
    log = git(downstream, "log", "--format=%s",
              "graceful-shutdown/" + SERIES).splitlines()
    assert log[0] == "[SAP] Graceful shutdown"
    assert log[1] == "[SAP] downstream change of cinder/backup/manager.py"
    body = git(downstream, "log", "-1", "--format=%B",
               "graceful-shutdown/" + SERIES)
    assert f"Change-Id: I{'2' * 40}" in body
    shown = git(downstream, "show", f"graceful-shutdown/{SERIES}:"
                "cinder/volume/manager.py")
    # theirs and ours, both
    assert "return 9  # SAP" in shown and "return 10 * 2" in shown
    assert "def v25_sap" in shown
    # no branch or tag of theirs was added besides the new branch
    assert git(downstream, "tag") == ""
    assert set(git(downstream, "branch", "--format=%(refname:short)")
               .split()) == {"stable/m3", f"graceful-shutdown/{SERIES}"}


def test_conflict_report_per_file_and_hunk(project, downstream):
    edit(downstream, "cinder/service.py", "def s10():\n    return 10\n",
         "def s10():\n    return 10 + 1  # SAP\n")
    git(downstream, "commit", "-qam", "[SAP] conflicting change")
    before = state(downstream)
    proc = onto(project, downstream, check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "patch 0001-SAP-Graceful-shutdown.patch does not apply" in err
    assert "cinder/service.py: 1 conflict(s)" in err
    assert "hunk 1, lines" in err
    assert "yours |     return 10 + 1  # SAP" in err
    assert "patch |     return 10 * 2" in err
    assert "git am --continue" in err
    assert state(downstream) == before
    worktree = project / "build" / "onto" / f"downstream-{SERIES}"
    assert (worktree / "cinder" / "service.py").exists()
    # a second run refuses: the first one is not finished
    again = onto(project, downstream, "--branch", "other", check=False)
    assert again.returncode == 1 and "exists" in again.stderr


def test_dry_run_keeps_nothing(project, downstream):
    before = state(downstream)
    out = onto(project, downstream, "--dry-run").stdout
    assert "dry run: 1 patch(es) apply onto stable/m3" in out
    edit(downstream, "cinder/backup/manager.py",
         "def b10():\n    return 10\n", "def b10():\n    return 11\n")
    git(downstream, "commit", "-qam", "[SAP] conflicting change")
    before = state(downstream)
    proc = onto(project, downstream, "--dry-run", check=False)
    assert proc.returncode == 1
    assert "cinder/backup/manager.py: 1 conflict(s)" in proc.stderr
    assert "dry run: nothing was kept" in proc.stderr
    assert state(downstream) == before
    assert git(downstream, "branch", "--format=%(refname:short)").split() \
        == ["stable/m3"]
    assert not (project / "build" / "onto" / f"downstream-{SERIES}").exists()


def test_refuses_a_dirty_checkout(project, downstream):
    edit(downstream, "cinder/service.py", "return 3\n", "return 33\n")
    before = state(downstream)
    proc = onto(project, downstream, check=False)
    assert proc.returncode == 1
    assert "refusing to apply onto" in proc.stderr
    assert "M cinder/service.py" in proc.stderr
    assert state(downstream) == before
    assert git(downstream, "branch", "--format=%(refname:short)").split() \
        == ["stable/m3"]


def test_bad_targets_are_clear_errors(project, downstream, tmp_path):
    proc = onto(project, tmp_path / "nowhere", check=False)
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    (tmp_path / "plain").mkdir()
    proc = onto(project, tmp_path / "plain", check=False)
    assert proc.returncode == 1 and "is not a git checkout" in proc.stderr
    git(downstream, "branch", f"graceful-shutdown/{SERIES}")
    proc = onto(project, downstream, check=False)
    assert proc.returncode == 1 and "already has a branch" in proc.stderr
