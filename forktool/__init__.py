"""forktool: materialise a patched upstream tree from pins + a patch queue.

pins.toml -> sdist (pip, sha256-checked) -> build/<series>/ (git: import
commit + `git am` of patches/<series>/series) -> venv -> tests; `export`
writes the tree's commits back to patches/<series>/.
"""


class ForkError(Exception):
    """A user-facing error: the CLI prints it and exits non-zero."""
