"""Tests of forktool against a tiny synthetic sdist (no network)."""

import hashlib
import io
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SERIES = "9999.1"

FILES = {
    "demo/__init__.py": "VERSION = '1.0'\n",
    "demo/core.py": "".join(f"def f{i}():\n    return {i}\n\n"
                            for i in range(20)),
    "tools/run.sh": "#!/bin/sh\necho run\n",
    "PKG-INFO": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    ".zuul.yaml": "- project: {}\n",
    "releasenotes/notes/.placeholder": "",
}


def make_sdist(path, files=FILES, version="1.0", mtime=1700000000):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"demo-{version}/{name}")
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_project(root, releases):
    """A project pinning releases: {series: (version, sha256)}."""
    (root / "build" / "cache").mkdir(parents=True, exist_ok=True)
    (root / "constraints").mkdir(exist_ok=True)
    pins = ""
    for series, (version, sha) in releases.items():
        (root / "constraints" / f"{series}.txt").write_text("")
        (root / "patches" / series).mkdir(parents=True)
        (root / "patches" / series / "series").write_text("")
        pins += (f'[series."{series}"]\npackage = "demo"\n'
                 f'version = "{version}"\nsha256 = "{sha}"\n'
                 f'python = "3.11"\n'
                 f'constraints = "constraints/{series}.txt"\n\n')
    (root / "pins.toml").write_text(pins)
    return root


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    (root / "build" / "cache").mkdir(parents=True)
    sha = make_sdist(root / "build" / "cache" / "demo-1.0.tar.gz")
    return new_project(root, {SERIES: ("1.0", sha)})


def ft(root, *args, env=None, check=True, series=SERIES):
    e = dict(os.environ, PYTHONPATH=str(REPO))
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "forktool", "--root",
                           str(root), *args, "--series", series],
                          capture_output=True, text=True, env=e)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def git(tree, *args):
    return subprocess.run(
        ["git", "-c", "user.name=Dev Eloper", "-c", "user.email=dev@x",
         *args], cwd=tree, capture_output=True, text=True,
        check=True).stdout


def commit_change(tree, path="demo/core.py", old="return 3\n",
                  new="return 3 * 1\n", title="[SAP] Change f3"):
    f = tree / path
    f.write_text(f.read_text().replace(old, new))
    git(tree, "commit", "-qam",
        f"{title}\n\nWhy it matters.\n\nChange-Id: I{'1' * 40}")


def tree_of(root):
    return root / "build" / SERIES


def test_clean_build_is_import_plus_nothing(project):
    out = ft(project, "fork").stdout
    assert "upstream/1.0 + 0 patches" in out
    tree = tree_of(project)
    assert git(tree, "log", "--format=%s").splitlines() == [
        "Import demo 1.0 from the upstream sdist"]
    assert ft(project, "check-import").returncode == 0
    assert (tree / "tools" / "run.sh").stat().st_mode & 0o111
    assert (tree / ".zuul.yaml").exists()


def test_check_import_detects_a_changed_import(project):
    ft(project, "fork")
    tree = tree_of(project)
    (tree / "demo" / "core.py").write_text("tampered\n")
    git(tree, "commit", "-qam", "tamper")
    git(tree, "tag", "-f", "upstream/1.0")
    proc = ft(project, "check-import", check=False)
    assert proc.returncode == 1
    assert "content differs: demo/core.py" in proc.stderr


def fork_two_changes_exported(project):
    """Fork, commit two changes in the tree, export; returns the tree."""
    ft(project, "fork")
    tree = tree_of(project)
    commit_change(tree)
    commit_change(tree, old="return 7\n", new="return 7 + 0\n",
                  title="Second change")
    ft(project, "export")
    return tree


def test_export_then_rebuild_round_trip_has_zero_diff(project):
    tree = fork_two_changes_exported(project)
    pdir = project / "patches" / SERIES
    names = (pdir / "series").read_text().split()
    assert names == ["0001-SAP-Change-f3.patch", "0002-Second-change.patch"]
    first = {n: (pdir / n).read_bytes() for n in names}
    text = first[names[0]].decode()
    assert text.startswith("From 0000000000000000000000000000000000000000")
    assert "Subject: [PATCH] [SAP] Change f3" in text
    assert f"Change-Id: I{'1' * 40}" in text
    # no "-- \n<git version>" signature footer, whatever git's version
    assert "\n-- \n" not in text
    head_before = git(tree, "rev-parse", "HEAD")

    # Exporting the unchanged tree changes nothing.
    out = ft(project, "export").stdout
    assert "(0 files changed)" in out
    # A fresh build from the queue gives the same commits and exports again
    # byte for byte.
    ft(project, "fork", "--force")
    assert git(tree, "rev-parse", "HEAD") == head_before
    subject = git(tree, "log", "-1", "--format=%an|%s|%b", "HEAD~1")
    assert subject.startswith("Dev Eloper|[SAP] Change f3|Why it matters.")
    ft(project, "export")
    assert {n: (pdir / n).read_bytes() for n in names} == first


def test_rebuild_is_idempotent(project):
    ft(project, "fork")
    tree = tree_of(project)
    commit_change(tree)
    ft(project, "export")
    ft(project, "fork", "--force")
    head = git(tree, "rev-parse", "HEAD")
    marker = tree / ".tox" / "keep"
    marker.parent.mkdir()
    marker.write_text("artefact")          # ignored build artefact
    out = ft(project, "fork").stdout
    assert "is up to date (1 patches)" in out
    assert git(tree, "rev-parse", "HEAD") == head
    assert marker.exists()


def test_refuses_to_clobber_uncommitted_edits(project):
    ft(project, "fork")
    tree = tree_of(project)
    (tree / "demo" / "core.py").write_text("my work\n")
    (tree / "new_file.py").write_text("x = 1\n")
    proc = ft(project, "fork", check=False)
    assert proc.returncode == 1
    assert "refusing to rebuild" in proc.stderr
    assert "uncommitted edits" in proc.stderr
    assert "demo/core.py" in proc.stderr and "new_file.py" in proc.stderr
    assert (tree / "demo" / "core.py").read_text() == "my work\n"
    assert ft(project, "export", check=False).returncode == 1
    # Told to, it discards them.
    ft(project, "fork", "--force")
    assert (tree / "demo" / "core.py").read_text() == FILES["demo/core.py"]
    assert not (tree / "new_file.py").exists()


def test_refuses_to_clobber_unexported_commits(project):
    ft(project, "fork")
    tree = tree_of(project)
    commit_change(tree)
    head = git(tree, "rev-parse", "HEAD")
    proc = ft(project, "fork", check=False)
    assert proc.returncode == 1
    assert "[SAP] Change f3 is not exported" in proc.stderr
    assert git(tree, "rev-parse", "HEAD") == head
    ft(project, "export")
    assert "is up to date" in ft(project, "fork").stdout


def test_export_removes_patches_no_longer_in_the_tree(project):
    tree = fork_two_changes_exported(project)
    pdir = project / "patches" / SERIES
    assert len(list(pdir.glob("*.patch"))) == 2
    git(tree, "reset", "-q", "--hard", "HEAD~1")    # drop the second
    # the stale patch removed, the series rewritten
    assert "2 files changed" in ft(project, "export").stdout
    assert [p.name for p in pdir.glob("*.patch")] == [
        "0001-SAP-Change-f3.patch"]
    assert (pdir / "series").read_text() == "0001-SAP-Change-f3.patch\n"


def test_export_refuses_merge_commits(project):
    ft(project, "fork")
    tree = tree_of(project)
    git(tree, "checkout", "-q", "-b", "side")
    commit_change(tree)
    git(tree, "checkout", "-q", "-")
    commit_change(tree, old="return 7\n", new="return 7 + 0\n",
                  title="Second change")
    git(tree, "merge", "-q", "--no-edit", "side")
    proc = ft(project, "export", check=False)
    assert proc.returncode == 1
    assert "merge commits" in proc.stderr
    assert (project / "patches" / SERIES / "series").read_text() == ""


@pytest.mark.parametrize("marker, what", [
    ("rebase-apply", "a git am/rebase"), ("rebase-merge", "a rebase"),
    ("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick")])
def test_refuses_a_tree_mid_operation(project, marker, what):
    ft(project, "fork")
    tree = tree_of(project)
    path = tree / ".git" / marker
    if marker.endswith("_HEAD"):
        path.write_text(git(tree, "rev-parse", "HEAD"))
    else:
        path.mkdir()
    for command in ("fork", "export"):
        proc = ft(project, command, check=False)
        assert proc.returncode == 1
        assert f"{what} is in progress" in proc.stderr


def test_refuses_a_folder_it_did_not_build(project):
    tree = tree_of(project)
    tree.mkdir(parents=True)
    (tree / "precious.txt").write_text("mine")
    proc = ft(project, "fork", check=False)
    assert proc.returncode == 1
    assert "not a git repository" in proc.stderr
    assert (tree / "precious.txt").read_text() == "mine"


def test_checksum_mismatch_is_an_error_and_keeps_the_file(project):
    tarball = project / "build" / "cache" / "demo-1.0.tar.gz"
    make_sdist(tarball, {**FILES, "demo/core.py": "evil\n"})
    before = tarball.read_bytes()
    proc = ft(project, "fork", check=False)
    assert proc.returncode == 1
    assert "sha256 mismatch" in proc.stderr
    assert hashlib.sha256(before).hexdigest() in proc.stderr
    assert tarball.read_bytes() == before
    assert not tree_of(project).exists()


def test_missing_sdist_is_a_clear_error(project, tmp_path):
    (project / "build" / "cache" / "demo-1.0.tar.gz").unlink()
    empty = tmp_path / "no-index"
    empty.mkdir()
    proc = ft(project, "fork", check=False,
              env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty),
                   "PIP_CONFIG_FILE": os.devnull})
    assert proc.returncode == 1
    assert "could not download the sdist demo==1.0" in proc.stderr
    assert not tree_of(project).exists()


def test_patch_that_no_longer_applies_names_patch_file_and_hunk(project):
    ft(project, "fork")
    tree = tree_of(project)
    commit_change(tree)
    commit_change(tree, old="return 9\n", new="return 9 + 0\n",
                  title="Touch f9")
    ft(project, "export")
    # Upstream moved on: the context of the second patch is gone.
    pdir = project / "patches" / SERIES
    p2 = pdir / "0002-Touch-f9.patch"
    p2.write_text(p2.read_text().replace(" def f9():", " def f9_renamed():"))
    proc = ft(project, "fork", "--force", check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "patch 0002-Touch-f9.patch does not apply" in err
    assert "rejected hunk(s) for demo/core.py" in err
    assert "+    return 9 + 0" in err
    # Left at the last good patch, without leftovers.
    assert git(tree, "log", "-1", "--format=%s") == "[SAP] Change f3\n"
    assert git(tree, "status", "--porcelain", "--ignored") == ""


def test_bad_pins_are_clear_errors(project):
    pins = project / "pins.toml"
    proc = ft(project, "fork", check=False)
    assert proc.returncode == 0
    pins.write_text(pins.read_text().replace('version = "1.0"\n', ""))
    proc = ft(project, "fetch", check=False)
    assert "lacks version" in proc.stderr and proc.returncode == 1
    pins.write_text("[series.x]\nsha256 = 'abc'\n")
    proc = ft(project, "fetch", check=False)
    assert f"series '{SERIES}' is not pinned" in proc.stderr


def test_rebuilds_a_tree_built_from_an_older_queue(project):
    """After a pull changed a patch, the stale tree is no local work."""
    ft(project, "fork")
    tree = tree_of(project)
    pdir = project / "patches" / SERIES

    def queue():
        return {p.name: p.read_bytes() for p in pdir.iterdir()}

    def set_queue(q):
        for p in pdir.iterdir():
            p.unlink()
        for name, data in q.items():
            (pdir / name).write_bytes(data)

    commit_change(tree)
    ft(project, "export")
    v1 = queue()
    (tree / "demo" / "core.py").write_text(
        FILES["demo/core.py"].replace("return 3\n", "return 3 * 2\n"))
    git(tree, "commit", "-qa", "--amend", "-m", "[SAP] Change f3 v2")
    ft(project, "export")
    v2 = queue()
    # The tree was built by the tool from queue v1 ...
    set_queue(v1)
    ft(project, "fork", "--force")
    # ... and the queue moved on to v2 (git pull).
    set_queue(v2)
    assert "+ 1 patches" in ft(project, "fork").stdout
    assert git(tree, "log", "-1", "--format=%s") == "[SAP] Change f3 v2\n"
    # A local commit on top is still protected.
    commit_change(tree, old="return 5\n", new="return 5 + 0\n",
                  title="Local work")
    proc = ft(project, "fork", check=False)
    assert proc.returncode == 1 and "Local work is not exported" in proc.stderr


def test_console_script_help():
    """`forktool --help` from the console script of the tools venv."""
    from importlib import metadata
    try:
        dist = metadata.distribution("forktool")
    except metadata.PackageNotFoundError:
        pytest.skip("forktool is not installed in this Python (make test "
                    "runs these tests in build/venv-tools, where it is)")
    scripts = {ep.name: ep.value for ep in dist.entry_points
               if ep.group == "console_scripts"}
    assert scripts == {"forktool": "forktool.cli:main"}
    script = pathlib.Path(sys.executable).parent / "forktool"
    proc = subprocess.run([script, "--help"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    for command in ("fork", "export", "test", "lock"):
        assert command in proc.stdout
