"""Tests of forktool.typecheck: settings from the tree, errors compared."""

import configparser

import pytest

from forktool import ForkError
from forktool import typecheck

SETUP_CFG = """\
[metadata]
name = demo

[mypy]
check_untyped_defs = true
html_report = mypy-report
pretty = true

[mypy-demo.legacy]
ignore_errors = true
"""

OUTPUT = """\
demo/a.py:12:5: error: Incompatible types in assignment  [assignment]
demo/a.py:12:5: note: See https://mypy.readthedocs.io
demo/b.py:3: error: Unused "type: ignore" comment  [unused-ignore]
Found 2 errors in 2 files (checked 3 source files)
"""


def test_config_keeps_mypy_settings_but_no_report_in_the_tree(tmp_path):
    (tmp_path / "setup.cfg").write_text(SETUP_CFG)
    cfg = configparser.RawConfigParser()
    cfg.read_string(typecheck.config_text(tmp_path))
    assert cfg.sections() == ["mypy", "mypy-demo.legacy"]
    assert cfg["mypy"]["check_untyped_defs"] == "true"
    assert "html_report" not in cfg["mypy"]
    assert cfg["mypy"]["pretty"] == "false"   # one line per error
    assert cfg["mypy-demo.legacy"]["ignore_errors"] == "true"


def test_errors_ignore_line_numbers_and_notes():
    assert typecheck.errors(OUTPUT) == {
        ("demo/a.py", "Incompatible types in assignment  [assignment]"): 1,
        ("demo/b.py", 'Unused "type: ignore" comment  [unused-ignore]'): 1,
    }
    moved = OUTPUT.replace("a.py:12:5", "a.py:40:1")
    assert typecheck.errors(moved) == typecheck.errors(OUTPUT)
    assert typecheck.new_errors(typecheck.errors(moved),
                                typecheck.errors(OUTPUT)) == []


def test_second_copy_of_a_pristine_error_is_new():
    line = next(ln for ln in OUTPUT.splitlines() if "a.py:12:5" in ln)
    patched = typecheck.errors(OUTPUT + "\n" + line.replace("12:5", "80:1"))
    assert typecheck.new_errors(patched, typecheck.errors(OUTPUT)) == [
        ("demo/a.py", "Incompatible types in assignment  [assignment]")]


def test_typed_files_skip_comments_and_blank_lines(tmp_path):
    (tmp_path / "mypy-files.txt").write_text(
        "demo/a.py\n# demo/old.py\n\ndemo/b.py\n")
    assert typecheck.typed_files(tmp_path) == ["demo/a.py", "demo/b.py"]


PYPROJECT = """\
[tool.mypy]
check_untyped_defs = true
html_report = "mypy-report"
pretty = true
modules = [
    "demo.a",
    "demo",
]

[[tool.mypy.overrides]]
module = ["demo.legacy", "demo.old"]
ignore_errors = true
"""


def test_pyproject_settings_and_modules(tmp_path):
    """cinder 29 moved the typed files and settings to pyproject.toml."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "__init__.py").write_text("")
    (tmp_path / "demo" / "a.py").write_text("")
    cfg = configparser.RawConfigParser()
    cfg.read_string(typecheck.config_text(tmp_path))
    assert cfg.sections() == ["mypy", "mypy-demo.legacy", "mypy-demo.old"]
    assert cfg["mypy"]["check_untyped_defs"] == "true"
    assert "html_report" not in cfg["mypy"]
    assert "modules" not in cfg["mypy"]
    assert cfg["mypy"]["pretty"] == "false"
    assert cfg["mypy-demo.old"]["ignore_errors"] == "true"
    assert typecheck.typed_files(tmp_path) == ["demo/a.py",
                                               "demo/__init__.py"]


def test_typed_files_missing_are_clear_errors(tmp_path):
    with pytest.raises(ForkError, match="which files are typed"):
        typecheck.typed_files(tmp_path)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    with pytest.raises(ForkError, match="names demo.a, which is not"):
        typecheck.typed_files(tmp_path)
