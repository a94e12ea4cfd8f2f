"""apply --onto: a series' queue onto somebody's own checkout.

Their checkout (e.g. a downstream branch carrying patches of its own) is
never touched: the queue is applied with `git am -3` on a new branch, in a
separate worktree (build/onto/<name>-<series>/).  Their repository was built
from git history, not from our sdist import, so it usually lacks the blobs
the patches' `index` lines name, without which `git am -3` cannot fall back
to a 3-way merge: the import commit is fetched into it first (under
refs/forktool/, never a branch or tag of theirs).
"""

import pathlib
import shutil

from forktool import conflicts
from forktool import ForkError
from forktool import patchqueue
from forktool import tree as tree_mod
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout


def _toplevel(path: pathlib.Path) -> pathlib.Path:
    if not path.is_dir():
        raise ForkError(f"{path} does not exist or is not a folder")
    proc = git(path, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode:
        raise ForkError(f"{path} is not a git checkout")
    return pathlib.Path(proc.stdout.strip())


def _refuse_dirty(repo: pathlib.Path) -> None:
    reasons = tree_mod.checkout_state(repo, untracked="no",
                                      what="uncommitted changes")
    if reasons:
        raise ForkError(f"refusing to apply onto {repo}:\n  - " +
                        "\n  - ".join(reasons) +
                        "\nCommit or stash your changes first.")


def _not_applied(worktree: pathlib.Path, output: str) -> str:
    """What `git am` could not even merge (no conflict markers)."""
    keep = [line for line in output.splitlines()
            if line.startswith(("error:", "fatal:", "Patch failed",
                                "CONFLICT", "Applying", "Using index",
                                "Falling back"))]
    return "\n".join(keep)


def _remove(repo, worktree, branch) -> None:
    git(worktree, "am", "--abort", check=False)
    git(repo, "worktree", "remove", "--force", str(worktree), check=False)
    shutil.rmtree(worktree, ignore_errors=True)
    git(repo, "worktree", "prune", check=False)
    git(repo, "branch", "-D", branch, check=False)


def apply_onto(layout: Layout, path, branch: str | None = None,
               dry_run: bool = False) -> str:
    """Apply patches/<series>/ onto the checkout at path, on a new branch."""
    layout.need_tree()
    pin = layout.pin
    patches = patchqueue.series_patches(layout.patch_dir)
    if not patches:
        raise ForkError(f"{layout.patch_dir} has no patches for series "
                        f"{pin.series}")
    repo = _toplevel(pathlib.Path(path).resolve())
    _refuse_dirty(repo)
    branch = branch or f"graceful-shutdown/{pin.series}"
    if dry_run:
        branch = f"forktool-dry-run/{pin.series}"
    if git(repo, "rev-parse", "-q", "--verify", f"refs/heads/{branch}",
           check=False).returncode == 0:
        raise ForkError(f"{repo} already has a branch {branch}; pass "
                        "--branch NAME or delete it")
    worktree = layout.build / "onto" / f"{repo.name}-{pin.series}"
    if worktree.exists():
        raise ForkError(f"{worktree} exists (an earlier apply --onto?): "
                        f"finish or remove it first (git -C {repo} worktree "
                        f"remove {worktree})")
    base = git(repo, "rev-parse", "--short", "HEAD").stdout.strip()
    current = git(repo, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()

    # The blobs the patches' index lines name: our import commit.
    ref = f"refs/forktool/{tag(pin)}"
    git(repo, "fetch", "-q", "--no-tags", str(layout.tree),
        f"+refs/tags/{tag(pin)}:{ref}")
    worktree.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "-q", "-b", branch, str(worktree), "HEAD")
    merged = []
    for patch in patches:
        proc = git(worktree, "am", "-3", "--keep-non-patch",
                   "--whitespace=nowarn", str(patch), check=False)
        output = proc.stdout + proc.stderr
        if "Falling back to" in output or "3-way" in output:
            merged.append(patch.name)
        if proc.returncode == 0:
            continue
        report = conflicts.report(worktree) or _not_applied(worktree, output)
        head = (f"patch {patch.name} does not apply onto {current} "
                f"({base}) of {repo}:\n{report}")
        if dry_run:
            _remove(repo, worktree, branch)
            raise ForkError(f"{head}\ndry run: nothing was kept")
        raise ForkError(
            f"{head}\nResolve it in {worktree} (your checkout is "
            f"untouched): edit the files, `git add` them, then `git am "
            f"--continue`; or `git am --abort` and `git -C {repo} worktree "
            f"remove {worktree}`.")
    how = (f" (3-way merged: {', '.join(merged)})" if merged else "")
    if dry_run:
        _remove(repo, worktree, branch)
        return (f"dry run: {len(patches)} patch(es) apply onto {current} "
                f"({base}) of {repo}{how}; nothing was kept")
    return (f"branch {branch} of {repo} = {current} ({base}) + "
            f"{len(patches)} patch(es){how}, checked out in {worktree}; "
            f"{current} is untouched")
