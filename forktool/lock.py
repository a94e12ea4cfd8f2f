"""The constraints lock of a series, with its provenance in the header."""

import hashlib
import os
import pathlib
import tempfile

from forktool import env
from forktool import ForkError
from forktool import sdist
from forktool.layout import Layout

# Resolved together with the sdist's requirements (as in the first lock).
EXTRA = ["setuptools<82"]


def resolve(layout: Layout, tarball: pathlib.Path) -> str:
    """Resolve requirements + test-requirements against upper constraints."""
    pin = layout.pin
    upper = pin.upper_constraints
    if not upper or not upper.is_file():
        raise ForkError(f"upper constraints {upper} not found")
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "src"
        src.mkdir()
        sdist.extract(tarball, src)
        v = pathlib.Path(tmp) / "venv"
        # The Python of the series, as the venvs that install the lock.
        env.run([env.python_of(pin), "-m", "venv", v])
        py = v / "bin" / "python"
        env.run([py, "-m", "pip", "install", "-q", "-c", upper,
                 "-r", src / "requirements.txt",
                 "-r", src / "test-requirements.txt", *EXTRA],
                what="resolving the lock")
        frozen = env.run([py, "-m", "pip", "freeze", "--all"], capture=True,
                         what="pip freeze").stdout.splitlines()
    keep = [ln for ln in frozen if ln.split("==")[0].lower()
            not in ("pip", pin.package)]
    upper_sha = hashlib.sha256(upper.read_bytes()).hexdigest()
    head = (f"# Constraints lock for series {pin.series} "
            f"({pin.package} {pin.version}, Python {pin.python}).\n"
            f"# Produced by: python -m forktool lock --series "
            f"{pin.series}\n"
            f"# from {os.path.relpath(upper, layout.root)} (sha256 "
            f"{upper_sha}) with\n"
            f"# {pin.sdist_name}'s requirements.txt + "
            f"test-requirements.txt + {' + '.join(EXTRA)}.\n")
    pin.constraints.write_text(head + "\n".join(keep) + "\n")
    return f"wrote {pin.constraints} ({len(keep)} packages)"
