"""rebase: move a series to a new upstream point release (gbp pq rebase).

The new sdist (sha256-checked) becomes an import commit whose parent is the
old one, tagged upstream/<new>; the queue's commits are replayed onto it
with `git cherry-pick` (a 3-way merge).  A patch whose changes the new
release already has (it reverse-applies there) is dropped, as is one that
the merge leaves empty.  At a conflict it stops with a per-file, per-hunk
report; `--continue` resumes once the files are resolved and added, and
`--abort` puts everything back.  At the end it pins the new version in
pins.toml, regenerates the lock and exports the queue.
"""

import dataclasses
import pathlib
import re
import tempfile

from forktool import ForkError
from forktool import lock
from forktool import pins
from forktool import replay
from forktool import sdist
from forktool import tree as tree_mod
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout


def _new_pin(pin: pins.Pin, version: str, sha256: str) -> pins.Pin:
    sha = (sha256 or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ForkError(f"--sha256 must be 64 hex digits (the sdist's "
                        f"published checksum), got {sha256!r}")
    if version == pin.version:
        raise ForkError(f"series {pin.series} is already at {version}")
    return dataclasses.replace(pin, version=version, sha256=sha)


def _import_on_top(layout: Layout, old: pins.Pin, new: pins.Pin,
                   tarball: pathlib.Path) -> None:
    """Tag upstream/<new>: the new sdist's tree, child of upstream/<old>."""
    tree = layout.tree
    with tempfile.TemporaryDirectory(dir=layout.build) as tmp:
        staging = pathlib.Path(tmp) / "import"
        tree_mod.import_sdist(staging, new, tarball)
        git(tree, "fetch", "-q", "--no-tags", str(staging),
            f"+refs/tags/{tag(new)}:refs/forktool/import")
    ref = "refs/forktool/import"
    fields = git(tree, "log", "-1", "--format=%an%n%ae%n%ad",
                 "--date=raw", ref).stdout.splitlines()
    message = git(tree, "log", "-1", "--format=%B", ref).stdout
    tree_id = git(tree, "rev-parse", f"{ref}^{{tree}}").stdout.strip()
    env = {"GIT_AUTHOR_NAME": fields[0], "GIT_AUTHOR_EMAIL": fields[1],
           "GIT_AUTHOR_DATE": fields[2], "GIT_COMMITTER_DATE": fields[2]}
    commit = git(tree, "commit-tree", tree_id, "-p", tag(old), "-m",
                 message.rstrip() + "\n", env=env).stdout.strip()
    git(tree, "tag", tag(new), commit)
    git(tree, "update-ref", "-d", ref)


def _already_upstream(tree: pathlib.Path, rev: str, base: str) -> bool:
    """Whether base already has every change of commit rev."""
    with tempfile.TemporaryDirectory() as tmp:
        index = pathlib.Path(tmp) / "index"
        diff = pathlib.Path(tmp) / "diff"
        diff.write_text(git(tree, "show", "--format=", "--binary",
                            rev).stdout)
        env = {"GIT_INDEX_FILE": str(index)}
        git(tree, "read-tree", base, env=env)
        return git(tree, "apply", "--cached", "--check", "-R", str(diff),
                   env=env, check=False).returncode == 0


def start(layout: Layout, version: str, sha256: str) -> str:
    layout.need_tree()
    tree, old = layout.tree, layout.pin
    replay.refuse_if_running(layout)
    reasons = tree_mod.local_work(tree, old, layout.patch_dir)
    if reasons:
        raise ForkError(f"refusing to rebase {tree}:\n  - " +
                        "\n  - ".join(reasons) +
                        "\nCommit and export (or discard) it first.")
    if not tree_mod.up_to_date(tree, old, layout.patch_dir):
        raise ForkError(f"{tree} does not match {layout.patch_dir}: run "
                        f"`make fork SERIES={old.series}` first")
    new = _new_pin(old, version, sha256)
    tarball = sdist.fetch(new, layout.cache)
    if git(tree, "rev-parse", "-q", "--verify", f"refs/tags/{tag(new)}",
           check=False).returncode == 0:
        git(tree, "tag", "-d", tag(new))
    commits = tree_mod.commits(tree, old)
    branch = git(tree, "symbolic-ref", "--short", "HEAD").stdout.strip()
    state = {"verb": "rebase", "series": old.series, "onto": version,
             "ours": "upstream", "from": old.version, "to": version,
             "sha256": new.sha256, "branch": branch,
             "orig_head": git(tree, "rev-parse", "HEAD").stdout.strip(),
             "todo": [], "dropped": [], "replayed": 0}
    _import_on_top(layout, old, new, tarball)
    for rev in commits:
        if _already_upstream(tree, rev, tag(new)):
            state["dropped"].append(replay.subject(tree, rev) +
                                    " (upstream)")
        else:
            state["todo"].append(rev)
    git(tree, "checkout", "-q", "-B", branch, tag(new))
    replay.save(layout, state)
    return _replay(layout, state)


def _replay(layout: Layout, state: dict) -> str:
    replay.run(layout, state)
    return _finish(layout, state)


def resume(layout: Layout) -> str:
    """--continue: commit the resolved patch, replay the rest."""
    state = replay.load(layout, "rebase")
    replay.resolved(layout, state)
    return _replay(layout, state)


def abort(layout: Layout) -> str:
    tree, state = layout.tree, replay.load(layout, "rebase")
    replay.abort(layout, state)
    git(tree, "tag", "-d", f"upstream/{state['to']}", check=False)
    return (f"rebase of {state['series']} to {state['to']} aborted: "
            f"{tree} is back at {state['from']} and the queue")


def _finish(layout: Layout, state: dict) -> str:
    new = dataclasses.replace(layout.pin, version=state["to"],
                              sha256=state["sha256"])
    pins.set_version(layout.root, new.series, new.version, new.sha256)
    moved = Layout(root=layout.root, pin=pins.load(layout.root,
                                                   new.series))
    if moved.pin.upper_constraints is not None:
        locked = lock.resolve(moved, sdist.fetch(moved.pin, moved.cache))
    else:
        locked = "no upper_constraints pinned: lock left as it was"
    exported = tree_mod.export(moved)
    replay.done(layout)
    dropped = "".join(f"\n  dropped: {d}" for d in state["dropped"])
    return (f"rebased {new.series} from {state['from']} to {new.version}: "
            f"{state['replayed']} patch(es) replayed{dropped}\n"
            f"pins.toml: {new.version} (sha256 {new.sha256})\n{locked}\n"
            f"{exported}")
