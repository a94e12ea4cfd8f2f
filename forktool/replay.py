"""Replay commits onto a tree with `git cherry-pick`, stoppable at conflicts.

The engine of `rebase` (the queue onto a new upstream release) and `port`
(a series' queue onto another series).  Its state lives in the tree's .git
folder, so `--continue` and `--abort` work from a new process.  A commit
that the merge leaves empty is dropped and named; at a conflict it stops
with the per-file, per-hunk report.
"""

import json
import pathlib

from forktool import conflicts
from forktool import ForkError
from forktool.git import git
from forktool.layout import Layout

STATE = "forktool-replay.json"


def state_path(layout: Layout) -> pathlib.Path:
    return layout.tree / ".git" / STATE


def load(layout: Layout, verb: str) -> dict:
    """The replay in progress, for verb; an error if there is none."""
    layout.need_tree()
    path = state_path(layout)
    state = json.loads(path.read_text()) if path.exists() else None
    if state is None or state["verb"] != verb:
        raise ForkError(f"no {verb} of {layout.tree} is in progress")
    return state


def refuse_if_running(layout: Layout) -> None:
    path = state_path(layout)
    if path.exists():
        verb = json.loads(path.read_text())["verb"]
        raise ForkError(f"a {verb} of {layout.tree} is in progress: finish "
                        f"it with --continue or undo it with --abort")


def save(layout: Layout, state: dict) -> None:
    state_path(layout).write_text(json.dumps(state, indent=1))


def done(layout: Layout) -> None:
    state_path(layout).unlink()


def subject(tree, rev) -> str:
    return git(tree, "log", "-1", "--format=%h %s", rev).stdout.strip()


def picking(tree: pathlib.Path) -> bool:
    return (tree / ".git" / "CHERRY_PICK_HEAD").exists()


def _unmerged(tree) -> list[str]:
    return git(tree, "diff", "--name-only", "--diff-filter=U").stdout.split()


def run(layout: Layout, state: dict) -> None:
    """Pick state["todo"] in order; raises ForkError at a conflict.

    state: verb, series, onto (what the commits go onto, for messages),
    ours (its side in the conflict report; default onto), todo (revs),
    dropped, replayed, pick_args (e.g. ["-x"]).
    """
    tree = layout.tree
    while state["todo"]:
        rev = state["todo"][0]
        proc = git(tree, "cherry-pick", "--keep-redundant-commits",
                   *state.get("pick_args", []), rev, check=False)
        if proc.returncode:
            if picking(tree) and not _unmerged(tree) and not git(
                    tree, "diff", "--cached", "--name-only").stdout:
                # Nothing left of it once merged: the target has it.
                git(tree, "cherry-pick", "--skip")
                state["dropped"].append(subject(tree, rev) + " (empty)")
                state["todo"].pop(0)
                save(layout, state)
                continue
            state["conflicted"] = _unmerged(tree)
            save(layout, state)
            ours = state.get("ours", state["onto"])
            report = (conflicts.report(tree, ours=ours)
                      or (proc.stdout + proc.stderr).strip())
            raise ForkError(
                f"patch {subject(tree, rev)} conflicts with "
                f"{state['onto']}:\n{report}\n"
                f"Resolve it in {tree}: edit the files and `git add` "
                f"them, then `forktool {state['verb']} --series "
                f"{state['series']} --continue` (or --abort).")
        if not git(tree, "diff", "--name-only", "HEAD~1", "HEAD").stdout:
            git(tree, "reset", "-q", "--hard", "HEAD~1")
            state["dropped"].append(subject(tree, rev) + " (empty)")
        else:
            state["replayed"] += 1
        state["todo"].pop(0)
        save(layout, state)


def resolved(layout: Layout, state: dict, message=None) -> None:
    """--continue: commit the resolved pick (with message, if given)."""
    tree = layout.tree
    unmerged = _unmerged(tree)
    if unmerged:
        raise ForkError("still unresolved (edit, then `git add`): " +
                        ", ".join(unmerged))
    markers = git(tree, "diff", "--cached", "-G^(<{7}|>{7}) ",
                  "--name-only", "HEAD", check=False).stdout.split()
    if markers:
        raise ForkError("conflict markers are still in: " +
                        ", ".join(markers))
    if picking(tree):
        if message is None:
            git(tree, "cherry-pick", "--continue",
                env={"GIT_EDITOR": "true"})
        else:
            msg = tree / ".git" / "forktool-replay-msg"
            msg.write_text(message)
            git(tree, "commit", "-q", "--no-verify", "-F", str(msg))
            msg.unlink()
    # else: the user committed it already
    state["replayed"] += 1
    state["todo"].pop(0)
    state.pop("conflicted", None)
    save(layout, state)


def pending_message(tree: pathlib.Path) -> str:
    """The message git prepared for the stopped pick, comments dropped."""
    text = (tree / ".git" / "MERGE_MSG").read_text()
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("#")).rstrip() + "\n"


def abort(layout: Layout, state: dict) -> None:
    tree = layout.tree
    if picking(tree):
        git(tree, "cherry-pick", "--abort", check=False)
    git(tree, "checkout", "-q", "-f", "-B", state["branch"],
        state["orig_head"])
    done(layout)
