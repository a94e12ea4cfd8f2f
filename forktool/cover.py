"""Coverage of the lines our patches add to the tree's code.

The unit tests run under coverage the way the tree's `tox -e cover` runs
them (stestr with PYTHON="coverage run --parallel-mode"), with eventlet
concurrency so lines run in green threads count.  The figure reported is
per file and in total: of the executable lines the patches add outside the
tests (diff from the upstream import tag to the working tree the tests
ran on), how many ran.
"""

import json
import pathlib
import re
import shutil

from forktool import checks
from forktool import env
from forktool import ForkError
from forktool.git import git
from forktool.git import tag
from forktool.layout import Layout

# Minimum coverage of the added lines (issue: >= 95 %), for `cover` and
# the `test` suite alike.
FAIL_UNDER = 95.0

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")

RCFILE = """\
[run]
branch = True
source = {package}
omit = {package}/tests/*
concurrency = eventlet
parallel = True
data_file = {data_file}
"""


def rcfile_text(package: str, data_file: pathlib.Path) -> str:
    return RCFILE.format(package=package, data_file=data_file)


def added_lines(diff_text: str, tests_prefix: str) -> dict[str, set[int]]:
    """Map each .py file a `git diff -U0` adds lines to, to those lines."""
    added: dict[str, set[int]] = {}
    path = None
    for line in diff_text.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            path = None
            if name.startswith("b/") and name.endswith(".py") and \
                    not name[2:].startswith(tests_prefix):
                path = name[2:]
            continue
        m = HUNK.match(line)
        if m and path:
            start = int(m.group(1))
            count = 1 if m.group(2) is None else int(m.group(2))
            added.setdefault(path, set()).update(range(start, start + count))
    return {p: lines for p, lines in added.items() if lines}


# Run with the tree's venv, in the tree: statements and missed lines of the
# given files, as coverage's own analysis counts them (the JSON report's
# executed_lines also holds lines that are not statements).
ANALYSE = """\
import json, sys
import coverage
cov = coverage.Coverage(config_file=sys.argv[1])
cov.load()
out = {}
for path in sys.argv[3:]:
    _, statements, _, missing, _ = cov.analysis2(path)
    out[path] = {"statements": statements, "missing": missing}
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
"""


def measure(analysis: dict, added: dict[str, set[int]]) -> list[tuple]:
    """(file, added statements, of those run, missed line numbers) rows.

    `analysis` maps each file to its "statements" and "missing" lines (a
    file no test imported has every statement missing).  Added lines that
    are not statements (blank, comments, docstrings, continuation lines)
    do not count.
    """
    rows = []
    for path in sorted(added):
        data = analysis.get(path)
        if data is None:
            raise ForkError(f"coverage has no analysis of {path}")
        stmts = added[path] & set(data["statements"])
        missed = stmts & set(data["missing"])
        if stmts:
            rows.append((path, len(stmts), len(stmts) - len(missed),
                         sorted(missed)))
    return rows


def table(rows: list[tuple]) -> tuple[str, float]:
    """The printed table and the total percentage."""
    width = max([len(r[0]) for r in rows] + [5])
    out = [f"{'file':<{width}}  added  run  missed  cover"]
    total = run = 0
    for path, n, ran, missed in rows:
        total += n
        run += ran
        lines = ",".join(str(x) for x in missed[:8]) + \
            (",..." if len(missed) > 8 else "")
        out.append(f"{path:<{width}}  {n:>5}  {ran:>3}  {n - ran:>6}  "
                   f"{100.0 * ran / n:5.1f}%  {lines}".rstrip())
    pct = 100.0 * run / total if total else 100.0
    out.append(f"{'TOTAL':<{width}}  {total:>5}  {run:>3}  {total - run:>6}"
               f"  {pct:5.1f}%")
    return "\n".join(out), pct


def load_json(path: pathlib.Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ForkError(f"cannot read the coverage data {path}: {e}")


def new_file_summary(report: dict, path: str) -> str:
    """Whole-file figures, branches included, of a file the patches add."""
    s = report["files"][path]["summary"]
    return (f"{path} (new file): {s['num_statements']} statements, "
            f"{s['missing_lines']} missed, {s['num_branches']} branches, "
            f"{s['num_partial_branches']} partial: "
            f"{s['percent_covered']:.1f}% with branches")


def run(layout: Layout, full=False, regex=(), concurrency=None,
        fail_under=FAIL_UNDER) -> None:
    """Unit tests under coverage; coverage of the lines the patches add."""
    out, tree, package = layout.cover_dir, layout.tree, layout.pin.package
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rc = out / "coveragerc"
    rc.write_text(rcfile_text(package, out / ".coverage"))
    e = checks.stestr(layout, full, regex, concurrency,
                      python=f"python -m coverage run --rcfile={rc}")
    # Run in the tree: the reports name files relative to it.
    for step in (["combine", "-q"],
                 ["json", "-q", "-o", out / "coverage.json"],
                 ["html", "-q", "-d", out / "html"]):
        env.run(["python", "-m", "coverage", step[0], f"--rcfile={rc}",
                 *step[1:]], cwd=tree, env=e, what=f"coverage {step[0]}")
    base = tag(layout.pin)
    # Against the working tree: the tests ran on it.
    diff = git(tree, "diff", "-U0", "--no-color", "--no-renames",
               base).stdout
    added = added_lines(diff, f"{package}/tests/")
    if not added:
        raise ForkError(f"the patches add no code outside the tests "
                        f"(diff from {base})")
    script = out / "analyse.py"
    script.write_text(ANALYSE)
    env.run(["python", script, rc, out / "analysis.json", *sorted(added)],
            cwd=tree, env=e, what="coverage analysis")
    text, pct = table(measure(load_json(out / "analysis.json"), added))
    print(f"coverage of the code lines added since {base} (statements; "
          f"HTML: {out / 'html'}):")
    print(text)
    report = load_json(out / "coverage.json")
    new = git(tree, "diff", "--name-only", "--diff-filter=A",
              base).stdout.split()
    for path in new:
        if path in added and path in report.get("files", {}):
            print(new_file_summary(report, path))
    if pct < fail_under:
        raise ForkError(f"coverage of the added lines {pct:.1f}% is below "
                        f"{fail_under}%")
