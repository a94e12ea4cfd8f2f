"""port: cherry-pick one series' queue onto another (a backport).

The source series' tree (`make fork SERIES=<from>`, whose commits are
reproducible: the same on every machine) is fetched into the target's, and
its queue is replayed onto the target's import with `git cherry-pick -x`,
so each commit keeps its author, message and Change-Id and gains a
`(cherry picked from commit ...)` line.  At a conflict it stops with the
per-hunk report; `--continue --note TEXT` commits the resolution with a
"Conflicts:" paragraph naming the files and saying how they were resolved.
At the end the target's queue is exported.
"""

import textwrap

from forktool import ForkError
from forktool import layout as layout_mod
from forktool import replay
from forktool import tree as tree_mod
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout


def _ref(state) -> str:
    return f"refs/forktool/port/{state['from']}"


def start(layout: Layout, source: str) -> str:
    layout.need_tree()
    tree, pin = layout.tree, layout.pin
    replay.refuse_if_running(layout)
    if source == pin.series:
        raise ForkError(f"cannot port {source} onto itself")
    src = layout_mod.load(layout.root, source)
    src.need_tree()
    if not tree_mod.up_to_date(src.tree, src.pin, src.patch_dir):
        raise ForkError(f"{src.tree} does not match {src.patch_dir}: run "
                        f"`make fork SERIES={source}` first")
    reasons = tree_mod.local_work(tree, pin, layout.patch_dir)
    if reasons:
        raise ForkError(f"refusing to port onto {tree}:\n  - " +
                        "\n  - ".join(reasons))
    have = tree_mod.commits(tree, pin)
    if have:
        raise ForkError(f"{layout.series} already has {len(have)} "
                        f"patch(es); a port starts from an empty queue "
                        f"(remove {layout.patch_dir} and `make fork "
                        f"SERIES={layout.series}` to port again)")
    base = git(src.tree, "rev-parse", f"{tag(src.pin)}^{{commit}}"
               ).stdout.strip()
    state = {"verb": "port", "series": pin.series, "from": source,
             "onto": f"{pin.package} {pin.version}", "ours": pin.series,
             "todo": [], "dropped": [], "replayed": 0, "pick_args": ["-x"],
             "branch": git(tree, "symbolic-ref", "--short",
                           "HEAD").stdout.strip(),
             "orig_head": git(tree, "rev-parse", "HEAD").stdout.strip()}
    git(tree, "fetch", "-q", "--no-tags", str(src.tree),
        f"+HEAD:{_ref(state)}")
    state["todo"] = git(tree, "rev-list", "--reverse",
                        f"{base}..{_ref(state)}").stdout.split()
    if not state["todo"]:
        raise ForkError(f"{source} has no patches to port")
    replay.save(layout, state)
    return _replay(layout, state)


def _replay(layout: Layout, state: dict) -> str:
    replay.run(layout, state)
    return _finish(layout, state)


def with_conflicts(message: str, files: list[str], note: str) -> str:
    """message with a Conflicts: paragraph before its trailers."""
    paragraphs = message.rstrip("\n").split("\n\n")
    block = ("Conflicts:\n" + "".join(f"    {f}\n" for f in files) + "\n"
             + textwrap.fill(" ".join(note.split()), 72))
    return "\n\n".join(paragraphs[:-1] + [block, paragraphs[-1]]) + "\n"


def resume(layout: Layout, note: str | None = None) -> str:
    """--continue: commit the resolved patch, with its Conflicts: note."""
    state = replay.load(layout, "port")
    message = None
    if state.get("conflicted") and replay.picking(layout.tree):
        if not (note or "").strip():
            raise ForkError("say how the conflicts were resolved: "
                            "--continue --note 'TEXT' (it goes into the "
                            "commit's Conflicts: paragraph)")
        message = with_conflicts(replay.pending_message(layout.tree),
                                 state["conflicted"], note)
    replay.resolved(layout, state, message)
    return _replay(layout, state)


def abort(layout: Layout) -> str:
    state = replay.load(layout, "port")
    replay.abort(layout, state)
    git(layout.tree, "update-ref", "-d", _ref(state), check=False)
    return (f"port of {state['from']} onto {state['series']} aborted: "
            f"{layout.tree} is back at its import")


def _finish(layout: Layout, state: dict) -> str:
    exported = tree_mod.export(layout)
    git(layout.tree, "update-ref", "-d", _ref(state), check=False)
    replay.done(layout)
    dropped = "".join(f"\n  dropped: {d}" for d in state["dropped"])
    return (f"ported {state['replayed']} patch(es) from {state['from']} "
            f"onto {state['series']} ({state['onto']}){dropped}\n"
            f"{exported}")
