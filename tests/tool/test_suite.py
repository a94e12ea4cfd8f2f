"""Tests of forktool.suite: every check runs, the failed ones are named."""

import pytest

from forktool import ForkError
from forktool import suite


def _fail(what):
    def step():
        raise ForkError(what)
    return step


def test_checks_all_run_and_failures_are_collected(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(suite, "build_steps", lambda layout: [
        ("fork", lambda: ran.append("fork") or "built")])
    monkeypatch.setattr(suite, "check_steps", lambda layout, args: [
        ("lint", _fail("lint broke")),
        ("pep8", lambda: ran.append("pep8")),
        ("mypy", _fail("mypy broke")),
        ("pytest", lambda: ran.append("pytest") or "pytest: OK")])
    with pytest.raises(ForkError, match=r"^test: failed: lint, mypy$"):
        suite.run(layout=None)
    assert ran == ["fork", "pep8", "pytest"]
    out, err = capsys.readouterr()
    assert "forktool: lint failed: lint broke" in err
    assert "==> pytest" in out and "pytest: OK" in out


def test_a_failed_build_step_stops_the_suite(monkeypatch):
    ran = []
    monkeypatch.setattr(suite, "build_steps", lambda layout: [
        ("fork", _fail("patch 0001 does not apply")),
        ("venv", lambda: ran.append("venv"))])
    monkeypatch.setattr(suite, "check_steps", lambda layout, args: [
        ("lint", lambda: ran.append("lint"))])
    with pytest.raises(ForkError, match="does not apply"):
        suite.run(layout=None)
    assert ran == []


def test_the_suite_passes_the_series_venvs_to_the_drill(monkeypatch,
                                                        tmp_path):
    from forktool import layout as layout_mod
    from forktool import pins
    seen = {}
    monkeypatch.setattr(suite.env, "run",
                        lambda cmd, **kw: seen.update(kw["env"]))
    pin = pins.Pin(series="2099.1", package="cinder", version="1",
                   sha256="0" * 64, python="3.11",
                   constraints=tmp_path / "c.txt", upper_constraints=None,
                   unit_slice=())
    lay = layout_mod.Layout(root=tmp_path, pin=pin)
    suite.pytest(lay)
    assert seen["DRILL_SERIES"] == "2099.1"
    assert seen["DRILL_PATCHED_VENV"] == str(tmp_path / "build" /
                                             "venv-2099.1")
    assert seen["DRILL_UPSTREAM_VENV"] == str(tmp_path / "build" /
                                              "venv-upstream-2099.1")
    assert seen["DRILL_E2E"] == "1"
