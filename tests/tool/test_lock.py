"""Tests of forktool.lock: what a series' lock is resolved from."""

import pytest

from forktool import ForkError
from forktool import lock
from forktool import pins

TOX_29 = """\
[testenv]
deps =
  -c{env:TOX_CONSTRAINTS_FILE:https://example.invalid/upper}
  -r{toxinidir}/test-requirements.txt

[testenv:mypy]
deps =
  {[testenv]deps}
  types-decorator
  # a comment
  mypy~=2.1.0
commands =
  mypy --cache-dir="{envdir}/mypy_cache" {posargs}
"""

TOX_26 = """\
[testenv:mypy]
setenv =
  OS_MYPY_OPTS=--install-types --non-interactive
commands =
  {toxinidir}/tools/mypywrap.sh {posargs}
"""


def test_mypy_deps_only_where_tox_names_them(tmp_path):
    (tmp_path / "tox.ini").write_text(TOX_29)
    assert lock.mypy_deps(tmp_path) == ["types-decorator", "mypy~=2.1.0"]
    (tmp_path / "tox.ini").write_text(TOX_26)
    assert lock.mypy_deps(tmp_path) == []      # in test-requirements.txt
    (tmp_path / "tox.ini").unlink()
    assert lock.mypy_deps(tmp_path) == []


def test_a_broken_tox_ini_is_a_clear_error(tmp_path):
    (tmp_path / "tox.ini").write_text("deps = no section\n")
    with pytest.raises(ForkError, match="tox.ini of the sdist"):
        lock.mypy_deps(tmp_path)


PINS = """\
[series."s"]
package = "demo"
version = "1.0"
sha256 = "%s"
python = "3.11"
constraints = "constraints/s.txt"
""" % ("0" * 64)


def test_lock_pins_are_read_and_checked(tmp_path):
    (tmp_path / "pins.toml").write_text(PINS)
    assert pins.load(tmp_path, "s").lock_pins == ()
    (tmp_path / "pins.toml").write_text(
        PINS + 'lock_pins = ["flake8-import-order<0.19"]\n')
    assert pins.load(tmp_path, "s").lock_pins == ("flake8-import-order<0.19",)
    (tmp_path / "pins.toml").write_text(PINS + 'lock_pins = "x<1"\n')
    with pytest.raises(ForkError, match="lock_pins must be a list"):
        pins.load(tmp_path, "s")
    (tmp_path / "pins.toml").write_text(PINS + 'bindep_skip = ["a", 1]\n')
    with pytest.raises(ForkError, match="bindep_skip must be a list"):
        pins.load(tmp_path, "s")
    (tmp_path / "pins.toml").write_text(PINS + 'bindep_skip = ["mysql"]\n')
    assert pins.load(tmp_path, "s").bindep_skip == ("mysql",)
