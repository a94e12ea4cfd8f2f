"""Materialise build/<series>/ as a git tree and export it back to patches.

The tree's first commit is the pristine sdist (tagged upstream/<version>);
every patch of patches/<series>/series follows, applied with `git am` so each
keeps its author, date and commit message (Change-Id included).
"""

import pathlib
import shutil
import tempfile

from forktool import ForkError
from forktool import patchqueue
from forktool import sdist
from forktool.git import git
from forktool.git import IMPORT_AUTHOR
from forktool.git import patch_id
from forktool.git import tag
from forktool.layout import Layout
from forktool.pins import Pin

# Patch-ids of the patches the tool applied to a tree (in its .git folder).
APPLIED = "forktool-applied"
# Build artefacts the tree's tools write; excluded locally, never committed.
EXCLUDES = [".tox/", ".stestr/", "__pycache__/", "*.pyc", "cover/",
            ".coverage", ".coverage.*", "tox-genops.log", ".mypy_cache/",
            ".pytest_cache/", "doc/build/", "releasenotes/build/",
            "*.rej", "*.orig", ".datacore_chap"]


def commits(tree, pin) -> list[str]:
    """The queue's commits in the tree, oldest first."""
    out = git(tree, "rev-list", "--reverse", f"{tag(pin)}..HEAD").stdout
    return out.split()


def _commit_patch_id(tree, rev):
    return patch_id(git(tree, "show", "--format=", rev).stdout)


# --- state checks ---------------------------------------------------------

def local_work(tree: pathlib.Path, pin: Pin,
               patch_dir: pathlib.Path) -> list[str]:
    """Reasons why rebuilding `tree` would lose work (empty: safe)."""
    state = tree_state(tree, pin)
    if not (tree / ".git").is_dir() or not _has_tag(tree, pin):
        return state
    return state + unexported(tree, pin, patch_dir)


def _has_tag(tree, pin) -> bool:
    return git(tree, "rev-parse", "-q", "--verify", f"refs/tags/{tag(pin)}",
               check=False).returncode == 0


def checkout_state(repo: pathlib.Path, untracked: str = "normal",
                   what: str = "uncommitted edits") -> list[str]:
    """An operation in progress, or uncommitted edits, in a checkout."""
    reasons = []
    for marker, op in (("rebase-apply", "a git am/rebase"),
                       ("rebase-merge", "a rebase"),
                       ("MERGE_HEAD", "a merge"),
                       ("CHERRY_PICK_HEAD", "a cherry-pick")):
        path = git(repo, "rev-parse", "--git-path", marker).stdout.strip()
        if (repo / path).exists():
            reasons.append(f"{op} is in progress")
    dirty = git(repo, "status", "--porcelain",
                f"--untracked-files={untracked}")
    if dirty.stdout.strip():
        files = dirty.stdout.splitlines()
        listing = "\n    ".join(files[:10])
        more = (f"\n    ... and {len(files) - 10} more"
                if len(files) > 10 else "")
        reasons.append(f"{what}:\n    {listing}{more}")
    return reasons


def tree_state(tree: pathlib.Path, pin: Pin) -> list[str]:
    """What is wrong with the tree itself: not ours, dirty, mid-operation."""
    if not (tree / ".git").is_dir():
        return [f"{tree} exists but is not a git repository"]
    if not _has_tag(tree, pin):
        return [f"{tree} has no {tag(pin)} tag (not built by forktool for "
                f"{pin.package} {pin.version})"]
    reasons = checkout_state(tree)
    if git(tree, "symbolic-ref", "-q", "HEAD", check=False).returncode:
        reasons.append("HEAD is detached")
    return reasons


def unexported(tree: pathlib.Path, pin: Pin,
               patch_dir: pathlib.Path) -> list[str]:
    """The tree's commits that are not in the queue."""
    # Commits made from the queue (now or by an earlier build) are not work.
    exported = {patch_id(p.read_text())
                for p in patchqueue.series_patches(patch_dir)}
    exported |= _applied_ids(tree)
    reasons = []
    for rev in commits(tree, pin):
        if _commit_patch_id(tree, rev) not in exported:
            subject = git(tree, "log", "-1", "--format=%h %s", rev).stdout
            reasons.append(f"commit {subject.strip()} is not exported to "
                           f"{patch_dir}")
    return reasons


def up_to_date(tree, pin, patch_dir) -> bool:
    wanted = [patch_id(p.read_text())
              for p in patchqueue.series_patches(patch_dir)]
    have = [_commit_patch_id(tree, r) for r in commits(tree, pin)]
    return wanted == have


# --- building -------------------------------------------------------------

def import_sdist(tree: pathlib.Path, pin: Pin,
                 tarball: pathlib.Path) -> None:
    """A new git repository at tree: the sdist as one commit, tagged."""
    tree.mkdir(parents=True)
    stamp = sdist.extract(tarball, tree)
    git(tree, "init", "-q", "-b", "main")
    exclude = tree / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    exclude.write_text("# forktool: build artefacts\n" + "\n".join(EXCLUDES)
                       + "\n")
    git(tree, "add", "-A", "-f")
    date = f"{stamp} +0000"
    msg = (f"Import {pin.package} {pin.version} from the upstream sdist\n\n"
           f"Series: {pin.series}\nSdist: {pin.sdist_name}\n"
           f"Sha256: {pin.sha256}\n")
    git(tree, "commit", "-q", "--no-verify", "-m", msg,
        env={"GIT_AUTHOR_NAME": IMPORT_AUTHOR[0],
             "GIT_AUTHOR_EMAIL": IMPORT_AUTHOR[1],
             "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    git(tree, "tag", tag(pin))


def _rejected_hunks(tree: pathlib.Path, patch: pathlib.Path) -> str:
    """Apply `patch` with --reject to report what does not apply."""
    proc = git(tree, "apply", "--reject", "--verbose", str(patch),
               check=False)
    report = []
    for line in (proc.stderr + proc.stdout).splitlines():
        if line.startswith(("error:", "Rejected hunk", "Checking patch")):
            report.append(line)
    for rej in sorted(tree.rglob("*.rej")):
        rel = rej.relative_to(tree)
        report.append(f"--- rejected hunk(s) for {str(rel)[:-4]} ---")
        report.append(rej.read_text().rstrip())
    # Undo the partial application.
    git(tree, "reset", "-q", "--hard", "HEAD")
    for leftover in list(tree.rglob("*.rej")) + list(tree.rglob("*.orig")):
        if not git(tree, "ls-files", "--error-unmatch",
                   str(leftover.relative_to(tree)), check=False).returncode:
            continue
        leftover.unlink()
    return "\n".join(report)


def _applied_ids(tree: pathlib.Path) -> set[str]:
    record = tree / ".git" / APPLIED
    return set(record.read_text().split()) if record.exists() else set()


def _apply(tree: pathlib.Path, patches: list[pathlib.Path]) -> None:
    record = tree / ".git" / APPLIED
    for patch in patches:
        # Remember what the tool applied: after the queue moves on (a pull),
        # these commits are stale copies of the queue, not local work.
        with open(record, "a") as f:
            f.write(patch_id(patch.read_text()) + "\n")
        proc = git(tree, "am", "-q", "--keep-non-patch",
                   "--committer-date-is-author-date", "--whitespace=nowarn",
                   str(patch), check=False)
        if proc.returncode == 0:
            continue
        git(tree, "am", "--abort", check=False)
        detail = _rejected_hunks(tree, patch)
        raise ForkError(
            f"patch {patch.name} does not apply to {tree} "
            f"(left at the last patch that applied):\n"
            f"{proc.stdout.strip()}\n{detail}".rstrip())


def materialise(layout: Layout, tarball: pathlib.Path,
                force: bool = False) -> str:
    tree, pin, patch_dir = layout.tree, layout.pin, layout.patch_dir
    patches = patchqueue.series_patches(patch_dir)
    if tree.exists():
        reasons = local_work(tree, pin, patch_dir)
        if reasons and not force:
            raise ForkError(
                f"refusing to rebuild {tree}; it holds work that would be "
                "lost:\n  - " + "\n  - ".join(reasons) + "\n"
                "Commit and `make export` it, or rerun with --force "
                "(FORCE=1) to discard it.")
        if not reasons and _import_matches(tree, pin) and up_to_date(
                tree, pin, patch_dir):
            return f"{tree} is up to date ({len(patches)} patches)"
        shutil.rmtree(tree)
    tree.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=tree.parent,
                                            prefix=f".{pin.series}."))
    try:
        staging.rmdir()
        import_sdist(staging, pin, tarball)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(tree)
    _apply(tree, patches)
    return f"built {tree}: {tag(pin)} + {len(patches)} patches"


def _import_matches(tree, pin) -> bool:
    msg = git(tree, "log", "-1", "--format=%B", tag(pin)).stdout
    return f"Sha256: {pin.sha256}" in msg


def export(layout: Layout) -> str:
    """Write the tree's commits after the import to the patch queue."""
    tree, pin, patch_dir = layout.tree, layout.pin, layout.patch_dir
    layout.need_tree()
    # Unexported commits are what export is for.
    reasons = tree_state(tree, pin)
    if reasons:
        raise ForkError(f"cannot export {tree}:\n  - " +
                        "\n  - ".join(reasons) +
                        "\nCommit (or stash) your edits in the tree first.")
    merges = git(tree, "rev-list", "--merges", f"{tag(pin)}..HEAD").stdout
    if merges.strip():
        raise ForkError(f"{tree} has merge commits after {tag(pin)}; the "
                        f"queue must be linear (rebase first)")
    with tempfile.TemporaryDirectory() as tmp:
        git(tree, "format-patch", "-q", "--zero-commit", "--no-signature",
            "--no-numbered", "--full-index", "--no-color", "-o", tmp,
            f"{tag(pin)}..HEAD")
        new = sorted(pathlib.Path(tmp).glob("*.patch"))
        changed = patchqueue.write(patch_dir, new)
    return (f"exported {len(new)} patches to {patch_dir} "
            f"({changed} files changed)")
