"""git, run the same way everywhere: reproducible commits and exports."""

import os

from forktool import ForkError
from forktool.env import run
from forktool.pins import Pin

# Identity and settings that make commits and exports reproducible.
IMPORT_AUTHOR = ("upstream sdist", "upstream@localhost")
COMMITTER = ("forktool", "forktool@localhost")
_GIT_CONFIG = [
    "-c", "core.abbrev=12", "-c", "diff.renames=true",
    "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
    "-c", "format.signOff=false", "-c", "format.subjectPrefix=PATCH",
    "-c", "format.coverLetter=false", "-c", "format.thread=false",
    "-c", "am.threeWay=false", "-c", "am.keepcr=false",
    "-c", "core.autocrlf=false", "-c", "commit.gpgSign=false",
    "-c", "init.defaultBranch=main", "-c", "advice.detachedHead=false",
]


def git(tree, *args, env=None, check=True):
    full_env = dict(os.environ, GIT_COMMITTER_NAME=COMMITTER[0],
                    GIT_COMMITTER_EMAIL=COMMITTER[1], LC_ALL="C")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        full_env.pop(var, None)
    full_env.update(env or {})
    proc = run(["git", *_GIT_CONFIG, *args], cwd=tree, env=full_env,
               capture=True, ok=None, echo=False)
    if check and proc.returncode != 0:
        raise ForkError(f"git {' '.join(str(a) for a in args)} failed in "
                        f"{tree}:\n"
                        f"{proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def tag(pin: Pin) -> str:
    return f"upstream/{pin.version}"


def patch_id(text: str) -> str:
    proc = run(["git", "patch-id", "--stable"], input=text, capture=True,
               echo=False, what="git patch-id")
    return proc.stdout.split(" ", 1)[0] if proc.stdout else ""
