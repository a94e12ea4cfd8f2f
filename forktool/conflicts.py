"""The report of a stopped 3-way merge: per file, per hunk, both sides.

Used where `git am -3` (apply --onto) or `git cherry-pick` (rebase) leaves
conflict markers, so that they can be resolved by hand.
"""

import pathlib
import re

from forktool.git import git

# <<<, ||| (the base, with merge.conflictStyle=diff3), === and >>> lines.
_MARKERS = re.compile(r"^(<{7}|\|{7}|={7}|>{7})( |$)")
# How many lines of each side of a conflict the report shows.
SHOWN = 8


def _hunks(lines):
    """(first line, last line, [our lines, their lines]) per conflict."""
    hunks, start, sides = [], None, None
    for number, line in enumerate(lines, 1):
        match = _MARKERS.match(line)
        if not match:
            if sides is not None:
                sides[-1].append(line)
            continue
        kind = match.group(1)[0]
        if kind == "<":
            start, sides = number, [[]]
        elif kind in "|=" and sides is not None:
            sides.append([])
        elif kind == ">" and sides is not None:
            hunks.append((start, number, sides))
            start, sides = None, None
    return hunks


def report(worktree: pathlib.Path, ours: str = "yours") -> str:
    """Per file and per hunk: the conflicts a 3-way merge left (or "").

    ours names the side the patch was applied onto.
    """
    files = git(worktree, "diff", "--name-only",
                "--diff-filter=U").stdout.split()
    out = []
    for name in files:
        text = (worktree / name).read_text(errors="replace")
        hunks = _hunks(text.splitlines())
        out.append(f"{name}: {len(hunks)} conflict(s)")
        for n, (first, last, sides) in enumerate(hunks, 1):
            mine, theirs = sides[0], sides[-1] if len(sides) > 1 else []
            out.append(f"  hunk {n}, lines {first}-{last}: {ours} "
                       f"{len(mine)} line(s), the patch {len(theirs)}")
            for label, side in ((ours, mine), ("patch", theirs)):
                for line in side[:SHOWN]:
                    out.append(f"    {label} | {line}")
                if len(side) > SHOWN:
                    out.append(f"    {label} | ... {len(side) - SHOWN} "
                               "more")
    return "\n".join(out)
