"""Tests of forktool.cover: which lines count and how they are counted."""

import subprocess
import sys

import pytest

from forktool import ForkError
from forktool import cover


def git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c",
                           "user.email=t@example.org", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "pkg" / "tests").mkdir(parents=True)
    (tmp_path / "pkg" / "mod.py").write_text(
        "".join(f"x{i} = {i}\n" for i in range(1, 11)))
    (tmp_path / "pkg" / "tests" / "test_mod.py").write_text("t = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "import")
    git(tmp_path, "tag", "base")
    return tmp_path


def test_added_lines_from_a_real_git_diff(repo):
    mod = repo / "pkg" / "mod.py"
    lines = mod.read_text().splitlines(keepends=True)
    lines[2] = "x3 = 'changed'\n"                    # line 3 replaced
    lines[6:6] = ["new_a = 1\n", "new_b = 2\n"]      # lines 7, 8 inserted
    del lines[-1]                                    # a removal adds nothing
    mod.write_text("".join(lines))
    (repo / "pkg" / "new.py").write_text("a = 1\nb = 2\n")
    (repo / "pkg" / "tests" / "test_mod.py").write_text("t = 2\n")
    (repo / "README").write_text("not python\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "change")
    diff = git(repo, "diff", "-U0", "--no-color", "base..HEAD")
    assert cover.added_lines(diff, "pkg/tests/") == {
        "pkg/mod.py": {3, 7, 8},
        "pkg/new.py": {1, 2},
    }


def test_added_lines_of_a_deleted_file_count_nothing(repo):
    git(repo, "rm", "-q", "pkg/mod.py")
    git(repo, "commit", "-qm", "drop")
    diff = git(repo, "diff", "-U0", "--no-color", "base..HEAD")
    assert cover.added_lines(diff, "pkg/tests/") == {}


def analysis(files):
    return {p: {"statements": sorted(stmts), "missing": sorted(missed)}
            for p, (stmts, missed) in files.items()}


def test_measure_counts_only_added_statements():
    an = analysis({"a.py": ({1, 2, 3, 5, 6}, {3, 6}), "b.py": ({1}, set())})
    added = {"a.py": {2, 3, 4, 5}, "b.py": {7}}   # 4 and b.py:7: no stmts
    assert cover.measure(an, added) == [("a.py", 3, 2, [3])]


def test_measure_refuses_a_file_without_analysis():
    with pytest.raises(ForkError, match="no analysis of c.py"):
        cover.measure(analysis({}), {"c.py": {1}})


MODULE = '''\
def f(x):
    """Doc
    string."""
    if x:
        return 1
    return (2 +
            3)


f(0)
'''


def test_analyse_script_counts_statements_not_executed_lines(tmp_path):
    """The script cover runs in the venv, on a real coverage run."""
    (tmp_path / "m.py").write_text(MODULE)
    rc = tmp_path / "rc"
    rc.write_text(f"[run]\ndata_file = {tmp_path / '.coverage'}\n")
    script = tmp_path / "analyse.py"
    script.write_text(cover.ANALYSE)
    subprocess.run([sys.executable, "-m", "coverage", "run",
                    f"--rcfile={rc}", "m.py"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, str(script), str(rc), "out.json",
                    "m.py"], cwd=tmp_path, check=True)
    got = cover.load_json(tmp_path / "out.json")["m.py"]
    # Docstring and continuation lines are no statements; line 5 never ran.
    assert got == {"statements": [1, 4, 5, 6, 10], "missing": [5]}
    rows = cover.measure({"m.py": got}, {"m.py": set(range(1, 11))})
    assert rows == [("m.py", 5, 4, [5])]


def test_table_totals_and_percentage():
    text, pct = cover.table([("a.py", 3, 2, [3]), ("b.py", 1, 1, [])])
    assert pct == 75.0
    last = text.splitlines()[-1].split()
    assert last == ["TOTAL", "4", "3", "1", "75.0%"]
    assert "a.py" in text and " 3" in text.splitlines()[1]


def test_table_of_nothing_is_complete():
    assert cover.table([])[1] == 100.0


def test_rcfile_measures_green_threads(tmp_path):
    text = cover.rcfile_text("cinder", tmp_path / ".coverage")
    assert "concurrency = eventlet" in text
    assert f"data_file = {tmp_path / '.coverage'}" in text
    assert "omit = cinder/tests/*" in text
