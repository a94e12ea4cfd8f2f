"""forktool port: a series' queue cherry-picked onto another series."""

import shutil

import pytest

from tests.tool.test_forktool import commit_change
from tests.tool.test_forktool import ft
from tests.tool.test_forktool import git
from tests.tool.test_forktool import new_project
from tests.tool.test_rebase import make_release

SOURCE, TARGET = "9999.1", "9999.2"


def fts(root, series, *args, check=True):
    return ft(root, *args, check=check, series=series)


@pytest.fixture
def two_series(tmp_path):
    """9999.1 = demo 1.0 with three patches; 9999.2 = demo 2.0, none."""
    root = tmp_path / "proj"
    new_project(root, {
        SOURCE: ("1.0", make_release(root, "1.0", [])),
        # 2.0 changes the line the third patch changes, and the context of
        # the first one
        TARGET: ("2.0", make_release(root, "2.0", [
            ("return 4\n", "return 4  # 2.0\n"),
            ("return 12\n", "return 12  # 2.0\n")]))})
    fts(root, SOURCE, "fork")
    src = root / "build" / SOURCE
    commit_change(src)
    commit_change(src, old="return 7\n", new="return 7 + 0\n",
                  title="Second change")
    commit_change(src, old="return 12\n", new="return 12 - 0\n",
                  title="Third change")
    fts(root, SOURCE, "export")
    fts(root, TARGET, "fork")
    return root


def test_port_with_a_conflict(two_series):
    root = two_series
    src, dst = root / "build" / SOURCE, root / "build" / TARGET
    picked = git(src, "rev-list", "--reverse", "upstream/1.0..HEAD").split()
    proc = fts(root, TARGET, "port", "--from", SOURCE, check=False)
    assert proc.returncode == 1
    assert "Third change conflicts with demo 2.0" in proc.stderr
    assert "9999.2 |     return 12  # 2.0" in proc.stderr
    assert "patch |     return 12 - 0" in proc.stderr
    core = dst / "demo" / "core.py"
    text = core.read_text()
    core.write_text(text.split("<<<<<<<")[0] +
                    "    return 12 - 0  # 2.0\n" +
                    text.split(">>>>>>>")[1].split("\n", 1)[1])
    git(dst, "add", "demo/core.py")
    refused = fts(root, TARGET, "port", "--continue", check=False)
    assert refused.returncode == 1 and "--note" in refused.stderr
    out = fts(root, TARGET, "port", "--continue", "--note",
              "2.0 comments f12's return; kept the comment.").stdout
    assert "ported 3 patch(es) from 9999.1 onto 9999.2 (demo 2.0)" in out
    names = (root / "patches" / TARGET / "series").read_text().split()
    assert names == ["0001-SAP-Change-f3.patch",
                     "0002-Second-change.patch",
                     "0003-Third-change.patch"]
    messages = [git(dst, "log", "-1", "--format=%B", f"HEAD~{n}")
                for n in (2, 1, 0)]
    for message, rev in zip(messages, picked):
        assert f"Change-Id: I{'1' * 40}" in message
        assert f"(cherry picked from commit {rev})" in message
    third = messages[2]
    assert ("Conflicts:\n    demo/core.py\n\n2.0 comments f12's return; "
            "kept the comment.\n\nChange-Id:") in third
    assert "Conflicts:" not in messages[0] + messages[1]
    # The ported queue builds from scratch, without fuzz.
    shutil.rmtree(dst)
    assert "upstream/2.0 + 3 patches" in fts(root, TARGET, "fork").stdout
    assert "return 12 - 0  # 2.0" in core.read_text()


def test_abort_and_refusals(two_series):
    root = two_series
    dst = root / "build" / TARGET
    head = git(dst, "rev-parse", "HEAD")
    assert fts(root, TARGET, "port", "--from", SOURCE,
               check=False).returncode == 1
    again = fts(root, TARGET, "port", "--from", SOURCE, check=False)
    assert "in progress" in again.stderr
    wrong = fts(root, TARGET, "rebase", "--continue", check=False)
    assert "no rebase" in wrong.stderr
    assert "aborted" in fts(root, TARGET, "port", "--abort").stdout
    assert git(dst, "rev-parse", "HEAD") == head
    assert git(dst, "status", "--porcelain") == ""
    assert (root / "patches" / TARGET / "series").read_text() == ""
    for args, message in ((["--from", TARGET], "onto itself"),
                          (["--from", "7777.1"], "not pinned"),
                          (["--continue"], "no port"),
                          ([], "needs --from")):
        proc = fts(root, TARGET, "port", *args, check=False)
        assert proc.returncode == 1 and message in proc.stderr, (
            args, proc.stderr)
    # a port onto a queue that has patches is refused
    commit_change(dst, old="return 1\n", new="return 1 + 0\n",
                  title="Own change")
    fts(root, TARGET, "export")
    proc = fts(root, TARGET, "port", "--from", SOURCE, check=False)
    assert proc.returncode == 1 and "already has 1 patch" in proc.stderr
