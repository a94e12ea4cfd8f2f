"""End-to-end drill against the PATCHED fork (real binaries, real servers).

Slow (minutes) and needs root (apt-get, mariadb, rabbitmq), so opt-in:

    DRILL_E2E=1 python -m pytest tests/drill/test_drill_e2e.py

Environment:
    DRILL_PATCHED_VENV   default build/venv-<DRILL_SERIES, 2025.1>
    DRILL_UPSTREAM_VENV  default build/venv-upstream-<DRILL_SERIES>
    DRILL_SCENARIOS      default: every scenario but 10 (e.g. "1,2,6")
    DRILL_WITH_UPSTREAM  1: run upstream side by side (reported, not asserted)
    DRILL_FULL           1: full durations instead of --quick
    DRILL_OUT            where the JSON/PNG go (default a pytest tmp dir)
"""
import json
import os
import subprocess
import sys

import pytest

from drill import cli
from drill import model
from drill import scenarios

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PATCHED = os.environ.get('DRILL_PATCHED_VENV', cli.DEFAULT_PATCHED)
UPSTREAM = os.environ.get('DRILL_UPSTREAM_VENV', cli.DEFAULT_UPSTREAM)
SCENARIOS = cli.parse_scenarios(os.environ.get('DRILL_SCENARIOS', 'default'))

pytestmark = [
    pytest.mark.skipif(os.environ.get('DRILL_E2E') != '1',
                       reason='end-to-end drill is opt-in: DRILL_E2E=1'),
]


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    # Opted in (make test): a venv that is missing is a failure, not a skip
    for venv in (PATCHED, UPSTREAM):
        assert os.path.exists(os.path.join(venv, 'bin', 'cinder-volume')), (
            'venv %s is not built (make venv venv-upstream)' % venv)
    out = os.environ.get('DRILL_OUT') or str(tmp_path_factory.mktemp('drill'))
    variants = 'patched'
    if os.environ.get('DRILL_WITH_UPSTREAM') == '1':
        variants = 'patched,upstream'
    cmd = [sys.executable, '-m', 'drill', 'run', '--patched-venv', PATCHED,
           '--upstream-venv', UPSTREAM, '--variants', variants,
           '--scenarios', ','.join(map(str, SCENARIOS)), '--out', out]
    if os.environ.get('DRILL_FULL') != '1':
        cmd.append('--quick')
    # the whole drill is bounded by its own deadlines; this is a backstop
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=3600)
    with open(os.path.join(out, 'drill-results.json')) as f:
        doc = json.load(f)
    return {(r['scenario'], r['variant']): r for r in doc['results']}


def _get(results, n):
    r = results.get((n, 'patched'))
    assert r is not None, 'scenario %d produced no result' % n
    assert not r.get('failure'), r['failure']
    return r


@pytest.mark.parametrize('n', SCENARIOS)
def test_contract_holds(results, n):
    """The patched fork keeps the contract its declaration names
    (drill.scenarios.SCENARIOS; the checks: drill.model.check_contract)."""
    r = _get(results, n)
    assert r['contract'] == list(scenarios.SCENARIOS[n].contract)
    assert model.check_contract(r) == [], r['ops']
