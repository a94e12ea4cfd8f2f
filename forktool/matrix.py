"""matrix: every pinned series, fork -> venv -> pep8 -> unit -> drill core.

One row per series, one column per check; the drill column counts the
patched fork's lost / stuck / error operations over the core scenarios
(and upstream's beside them).  Writes build/matrix/matrix.json and prints
the table; fails when a check of the patched fork fails.
"""

import json
import os
import pathlib
import sys

from forktool import checks
from forktool import env
from forktool import ForkError
from forktool import layout as layout_mod
from forktool import pins
from forktool import suite

# In flight at SIGTERM, late arrivals, rolling overlap, backup, kill
# mid-drain (drill/scenarios.py).
CORE_SCENARIOS = (1, 2, 3, 4, 13)
COUNTED = ("lost", "stuck", "error")
# A check whose failure leaves the later ones nothing to run on.
NEEDS = {"venv": "fork", "venv-upstream": "fork", "pep8": "fork",
         "unit": "venv", "drill": "venv-upstream"}


def steps(layout, quick=True):
    build = dict(suite.build_steps(layout))
    return [
        *[(name, build[name]) for name in ("fork", "venv", "venv-upstream")],
        ("pep8", lambda: checks.pep8(layout)),
        ("unit", lambda: unit(layout)),
        ("drill", lambda: drill(layout, quick)),
    ]


def unit(layout) -> str:
    checks.stestr(layout)
    return "unit slice: OK"


def drill(layout, quick=True) -> dict:
    """The core scenarios, patched and upstream; their counts."""
    out = layout.build / "matrix" / layout.series / "drill"
    suite.bindep(layout, "drill")
    cmd = [layout.tools_venv / "bin" / "python", "-m", "drill", "run",
           "--scenarios", ",".join(map(str, CORE_SCENARIOS)),
           "--out", out, "--no-png",
           "--patched-venv", layout.venv,
           "--upstream-venv", layout.upstream_venv]
    if quick:
        cmd.append("--quick")
    env.run(cmd, cwd=layout.root, what="drill",
            env=dict(os.environ, DRILL_SERIES=layout.series))
    return summarise(json.loads((out / "drill-results.json").read_text()))


def summarise(report: dict) -> dict:
    """Per variant: lost/stuck/error summed, and the patched contract."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    from drill import model
    counts = {}
    broken = []
    for result in report["results"]:
        total = counts.setdefault(result["variant"],
                                  dict.fromkeys(COUNTED, 0))
        for key in COUNTED:
            total[key] += result["counts"].get(key, 0)
        if result["variant"] == "patched":
            bad = model.check_contract(result)
            if bad:
                broken.append(f"{result['scenario']}: {', '.join(bad)}")
    return {"counts": counts, "contract_broken": broken}


def run(root, series=None, quick=True, steps_of=steps) -> str:
    names = series or pins.series_names(root)
    rows = {}
    for name in names:
        lay = layout_mod.load(root, name)
        row = rows[name] = {}
        for check, step in steps_of(lay, quick):
            need = NEEDS.get(check)
            if need and row.get(need, {}).get("status") != "ok":
                row[check] = {"status": "skipped", "detail": f"{need} "
                              "did not pass"}
                continue
            print(f"==> {name}: {check}", flush=True)
            try:
                detail = step()
            except ForkError as e:
                print(f"forktool: {name} {check} failed: {e}",
                      file=sys.stderr)
                row[check] = {"status": "FAIL", "detail": str(e)}
                continue
            status = "ok"
            if check == "drill" and (detail["contract_broken"] or any(
                    detail["counts"].get("patched", {}).values())):
                status = "FAIL"
            row[check] = {"status": status, "detail": detail}
    out = pathlib.Path(root) / "build" / "matrix"
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.json").write_text(json.dumps(
        {"quick": quick, "scenarios": CORE_SCENARIOS, "series": rows},
        indent=1, default=str))
    text = table(rows)
    print(text)
    failed = [f"{name} {check}" for name, row in rows.items()
              for check, cell in row.items() if cell["status"] != "ok"]
    if failed:
        raise ForkError("matrix: not green: " + ", ".join(failed))
    return f"matrix: every series green ({out / 'matrix.json'})"


def _cell(check, cell) -> str:
    if check != "drill" or cell["status"] == "skipped" or not isinstance(
            cell["detail"], dict):
        return cell["status"]
    counts = cell["detail"]["counts"]
    shown = " / ".join(
        f"{variant} " + "-".join(str(counts[variant][k]) for k in COUNTED)
        for variant in ("patched", "upstream") if variant in counts)
    return f"{cell['status']}: {shown}"


def table(rows: dict) -> str:
    checks_ = ["fork", "venv", "venv-upstream", "pep8", "unit", "drill"]
    lines = ["| series | " + " | ".join(checks_) + " |",
             "|---" * (len(checks_) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(
            _cell(c, row[c]) if c in row else "-" for c in checks_) + " |")
    lines.append(f"drill: lost-stuck-error over scenarios "
                 f"{', '.join(map(str, CORE_SCENARIOS))}")
    return "\n".join(lines)
