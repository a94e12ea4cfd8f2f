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


@pytest.mark.parametrize('n', [n for n in SCENARIOS
                               if n in model.GENERIC])
def test_nothing_lost_and_fast_exit(results, n):
    r = _get(results, n)
    c = r['counts']
    assert c['lost'] == 0, r['ops']
    assert c['stuck'] == 0
    assert c['error'] == 0
    assert c['done'] > 0
    for m in r['pod_metrics']:
        assert m['rc'] == 0, m
        if m['last_op_to_exit'] is not None:
            assert m['last_op_to_exit'] <= model.MAX_EXIT_AFTER_LAST_OP, m
    assert model.check_contract(r) == []


@pytest.mark.skipif(6 not in SCENARIOS, reason='scenario 6 not selected')
def test_crash_rows_cleaned_once_stale(results):
    r = _get(results, 6)
    assert r['counts']['stuck'] == 0
    assert r['counts']['lost'] == 0
    assert r['leftover_workers'] == []
    assert model.check_contract(r) == []


@pytest.mark.skipif(7 not in SCENARIOS, reason='scenario 7 not selected')
def test_drain_timeout(results):
    r = _get(results, 7)
    t = r['drain_timeout']
    assert t - 0.5 <= r['sigterm_to_exit'] <= t + 5
    # it exits by itself (0) before terminationGracePeriodSeconds
    assert [m['rc'] for m in r['pod_metrics']] == [0]
    longs = [op for op in r['ops'] if op['phase'] == 'long']
    assert longs and all(op['category'] in ('done', 'error')
                         for op in longs)
    assert r['leftover_workers'] == []
    assert model.check_contract(r) == []


@pytest.mark.skipif(13 not in SCENARIOS, reason='scenario 13 not selected')
def test_kill_mid_drain(results):
    """Every cast that arrived during the drain ran on the next pod."""
    r = _get(results, 13)
    late = [op for op in r['ops'] if op['phase'] == 'late']
    assert late and all(op['category'] == 'done' for op in late), late
    assert r['arriving'] == len(late)
    assert any(p['grace_killed'] for p in r['pods'])
    assert r['leftover_workers'] == []
    assert model.check_contract(r) == []
