"""forktool matrix: one table over every series, and its JSON."""

import json

import pytest

from forktool import ForkError
from forktool import matrix

PINS = "".join(
    f'[series."{name}"]\npackage = "demo"\nversion = "{version}"\n'
    f'sha256 = "{"a" * 64}"\npython = "3.11"\n'
    f'constraints = "constraints/{name}.txt"\n\n'
    for name, version in (("8888.1", "1.0"), ("8888.2", "2.0")))


@pytest.fixture
def root(tmp_path):
    (tmp_path / "pins.toml").write_text(PINS)
    return tmp_path


def drill_summary(patched_lost=0):
    return {"counts": {"patched": {"lost": patched_lost, "stuck": 0,
                                   "error": 0},
                       "upstream": {"lost": 4, "stuck": 0, "error": 2}},
            "contract_broken": []}


def fake_steps(fail=(), lost=0):
    """steps_of for matrix.run: every check passes unless in fail."""
    ran = []

    def steps_of(layout, quick):
        def step(check):
            def do():
                ran.append((layout.series, check))
                if (layout.series, check) in fail:
                    raise ForkError(f"{check} broke")
                if check == "drill":
                    return drill_summary(lost)
                return f"{check}: OK"
            return do
        return [(c, step(c)) for c in ("fork", "venv", "venv-upstream",
                                       "pep8", "unit", "drill")]
    return steps_of, ran


def test_every_series_green(root, capsys):
    steps_of, ran = fake_steps()
    assert "every series green" in matrix.run(root, steps_of=steps_of)
    assert [s for s, _ in ran] == ["8888.1"] * 6 + ["8888.2"] * 6
    table = capsys.readouterr().out
    assert ("| 8888.1 | ok | ok | ok | ok | ok | ok: patched 0-0-0 / "
            "upstream 4-0-2 |") in table
    data = json.loads((root / "build" / "matrix" / "matrix.json")
                      .read_text())
    assert data["quick"] is True
    assert list(data["scenarios"]) == list(matrix.CORE_SCENARIOS)
    assert data["series"]["8888.2"]["drill"]["detail"]["counts"][
        "upstream"]["lost"] == 4


def test_failures_are_named_and_skip_what_depends_on_them(root, capsys):
    steps_of, ran = fake_steps(fail={("8888.1", "fork"),
                                     ("8888.2", "pep8")}, lost=1)
    with pytest.raises(ForkError) as e:
        matrix.run(root, steps_of=steps_of)
    # 8888.1: nothing runs after a failed fork; 8888.2: pep8 failing
    # does not stop the unit slice or the drill, whose lost op fails it.
    assert [c for s, c in ran if s == "8888.1"] == ["fork"]
    assert [c for s, c in ran if s == "8888.2"] == [
        "fork", "venv", "venv-upstream", "pep8", "unit", "drill"]
    assert "8888.1 fork" in str(e.value) and "8888.2 pep8" in str(e.value)
    assert "8888.2 drill" in str(e.value)
    table = capsys.readouterr().out
    assert "| 8888.1 | FAIL | skipped | skipped | skipped | skipped | " \
           "skipped |" in table
    assert "FAIL: patched 1-0-0" in table


def test_only_some_series(root):
    steps_of, ran = fake_steps()
    matrix.run(root, ["8888.2"], steps_of=steps_of)
    assert {s for s, _ in ran} == {"8888.2"}


def test_summarise_a_drill_report():
    report = {"results": [
        {"scenario": 1, "variant": "patched", "contract": [],
         "counts": {"done": 3, "lost": 1, "stuck": 0, "error": 0}},
        {"scenario": 1, "variant": "upstream", "contract": [],
         "counts": {"done": 1, "lost": 2, "stuck": 1, "error": 0}},
        {"scenario": 2, "variant": "patched", "contract": [],
         "counts": {"done": 4, "lost": 0, "stuck": 0, "error": 1}}]}
    summary = matrix.summarise(report)
    assert summary["counts"] == {
        "patched": {"lost": 1, "stuck": 0, "error": 1},
        "upstream": {"lost": 2, "stuck": 1, "error": 0}}
    assert summary["contract_broken"] == ["1: 1 lost"]
