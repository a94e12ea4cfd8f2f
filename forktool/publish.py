"""publish: a git repository an image build can clone (LOCI's PROJECT_REPO).

Per series, a branch `stable/<series>-graceful-shutdown` holds the upstream
import (tagged with the upstream version, e.g. `26.3.0`, which pbr reads),
the queue's commits, and a commit that drops the sdist's PKG-INFO: pbr
takes the version from PKG-INFO before git, so with it the fork would
install as plain `26.3.0`.  Without it pbr derives `26.3.1.devN` (N
commits after the upstream tag): a PEP 440 development version that sorts
above the upstream release it is built on and below the next one.  A local
label (`26.3.0+...`) would show the fork better but breaks
`cinder --version` (pbr's SemanticVersion refuses it), and `.postN` turns
into `26.3.1.devN` anyway; see docs/publish-versioning.md.

Every publication gets an annotated tag `graceful-shutdown/<series>/<n>`,
which pbr ignores (not a version).  Republishing an unchanged queue changes
nothing.  A changed queue adds one commit on top of the branch, whose tree
is the new import + queue (a merge with the new import when the upstream
version moved), and a new tag: published history is never rewritten and
nothing is force-pushed.
"""

import pathlib
import tempfile

from forktool import ForkError
from forktool import patchqueue
from forktool import tree as tree_mod
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout

DROP_PKG_INFO = ("Take the version from git tags: drop the sdist's PKG-INFO\n"
                 "\n"
                 "pbr reads PKG-INFO before git, so with it this tree would "
                 "install as\nthe upstream release.  Without it pbr "
                 "derives a development version\nof the next release "
                 "from the upstream tag (see forktool/publish.py).\n")


def branch_of(series: str) -> str:
    return f"stable/{series}-graceful-shutdown"


def tag_prefix(series: str) -> str:
    return f"graceful-shutdown/{series}/"


def _is_path(dest: str) -> bool:
    return "://" not in dest and not (":" in dest and "@" in dest)


def _target_tree(layout: Layout, repo: pathlib.Path, head: str) -> str:
    """The tree of head without PKG-INFO, written into repo."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(pathlib.Path(tmp) / "index")}
        git(repo, "read-tree", head, env=env)
        git(repo, "rm", "-q", "--cached", "--ignore-unmatch", "PKG-INFO",
            env=env)
        return git(repo, "write-tree", env=env).stdout.strip()


def _commit(repo, tree_id, parents, message) -> str:
    args = ["commit-tree", tree_id]
    for parent in parents:
        args += ["-p", parent]
    return git(repo, *args, "-m", message).stdout.strip()


def publish(layout: Layout, dest: str | None = None) -> str:
    layout.need_tree()
    tree, pin = layout.tree, layout.pin
    reasons = tree_mod.local_work(tree, pin, layout.patch_dir)
    if reasons or not tree_mod.up_to_date(tree, pin, layout.patch_dir):
        raise ForkError(f"{tree} does not match {layout.patch_dir}: "
                        f"`make fork SERIES={pin.series}` (and export your "
                        "work) first" + "".join(f"\n  - {r}"
                                                for r in reasons))
    dest = dest or str(layout.build / "publish.git")
    created = False
    if _is_path(dest):
        path = pathlib.Path(dest).resolve()
        if not path.exists():
            path.mkdir(parents=True)
            git(path, "init", "-q", "--bare")
            # Let clones filter (LOCI clones with --filter=tree:0).
            git(path, "config", "uploadpack.allowFilter", "true")
            created = True
        dest = str(path)
    branch, prefix = branch_of(pin.series), tag_prefix(pin.series)
    with tempfile.TemporaryDirectory() as tmp:
        repo = pathlib.Path(tmp) / "stage.git"
        git(pathlib.Path(tmp), "init", "-q", "--bare", str(repo))
        if git(repo, "ls-remote", dest, check=False,
               env={"GIT_TERMINAL_PROMPT": "0"}).returncode:
            raise ForkError(f"cannot reach the publish repository {dest}")
        git(repo, "fetch", "-q", dest, "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*")
        git(repo, "fetch", "-q", "--no-tags", str(tree),
            "+HEAD:refs/forktool/head",
            f"+refs/tags/{tag(pin)}:refs/forktool/import")
        head = git(repo, "rev-parse", "refs/forktool/head").stdout.strip()
        imported = git(repo, "rev-parse",
                       "refs/forktool/import^{commit}").stdout.strip()
        target = _target_tree(layout, repo, head)
        tags = git(repo, "tag", "-l", prefix + "*").stdout.split()
        n = 1 + max([int(t[len(prefix):]) for t in tags
                     if t[len(prefix):].isdigit()] or [0])
        old = git(repo, "rev-parse", "-q", "--verify",
                  f"refs/heads/{branch}", check=False).stdout.strip()
        if old and git(repo, "rev-parse", f"{old}^{{tree}}"
                       ).stdout.strip() == target:
            return (f"{branch} in {dest} already holds this queue "
                    f"({tags[-1] if tags else old[:12]}): nothing published")
        patches = patchqueue.series_patches(layout.patch_dir)
        summary = "".join(f"\n  {p.name}" for p in patches)
        version_tag = pin.version
        if git(repo, "rev-parse", "-q", "--verify",
               f"refs/tags/{version_tag}", check=False).returncode:
            git(repo, "tag", "-a", "-m", f"{pin.package} {pin.version} "
                f"(the upstream sdist)", version_tag, imported)
        if not old:
            new = _commit(repo, target, [head], DROP_PKG_INFO)
        else:
            parents = [old]
            if git(repo, "merge-base", "--is-ancestor", imported, old,
                   check=False).returncode:
                parents.append(imported)     # the upstream version moved
            new = _commit(repo, target, parents,
                          f"Publish the {pin.series} queue on {pin.package} "
                          f"{pin.version} (revision {n})\n\nThe tree of "
                          f"`make fork SERIES={pin.series}` without PKG-INFO"
                          f", patches:{summary}\n")
        name = f"{prefix}{n}"
        git(repo, "tag", "-a", "-m", f"{pin.package} {pin.version} + the "
            f"graceful-shutdown queue of {pin.series}, revision "
            f"{n}:{summary}", name, new)
        git(repo, "update-ref", f"refs/heads/{branch}", new,
            *([old] if old else []))
        proc = git(repo, "push", "-q", dest, f"refs/heads/{branch}",
                   f"refs/tags/{name}", f"refs/tags/{version_tag}",
                   check=False)
        if proc.returncode:
            raise ForkError(f"could not publish to {dest} (nothing was "
                            f"forced):\n{proc.stderr.strip()}")
    if created:
        # A clone checks out this branch unless told otherwise.
        git(pathlib.Path(dest), "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    return (f"published {branch} = {new[:12]} as {name} to {dest}\n"
            f"  LOCI: PROJECT_REPO={dest} PROJECT_REF={name}")
