"""The import commit is the sdist: file by file, byte by byte, mode by mode."""

import hashlib
import tarfile

from forktool import ForkError
from forktool import sdist
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout


def check(layout: Layout, tarball) -> str:
    layout.need_tree()
    top, files = sdist.members(tarball)
    listed = git(layout.tree, "ls-tree", "-r", "-z", "--full-tree",
                 tag(layout.pin)).stdout.split("\0")
    in_git = {}
    for entry in filter(None, listed):
        meta, path = entry.split("\t", 1)
        mode, _, sha = meta.split()
        in_git[path] = (mode, sha)
    problems = []
    with tarfile.open(tarball) as tar:
        for m in files:
            rel = m.name[len(top) + 1:]
            if rel not in in_git:
                problems.append(f"missing from the import: {rel}")
                continue
            mode, sha = in_git.pop(rel)
            data = tar.extractfile(m).read()
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            if blob != sha:
                problems.append(f"content differs: {rel}")
            want = "100755" if m.mode & 0o111 else "100644"
            if mode != want:
                problems.append(f"mode {mode} != {want}: {rel}")
    problems += [f"not in the sdist: {p}" for p in sorted(in_git)]
    if problems:
        raise ForkError(f"{tag(layout.pin)} differs from {tarball.name}:\n"
                        + "\n".join(problems[:50]))
    return (f"{tag(layout.pin)} is byte-identical to {tarball.name} "
            f"({len(files)} files)")
