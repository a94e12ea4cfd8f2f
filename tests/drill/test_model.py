"""Fast unit tests of the drill's own logic (no servers)."""
import argparse
import json

import pytest

from drill import cli
from drill import config
from drill import model
from drill import scenarios


def op(kind='create_volume', rid='r1', history=(), executed=None,
       phase='inflight', sent=10.0):
    o = {'kind': kind, 'rid': rid, 'sent': sent, 'phase': phase,
         'history': [list(h) for h in history]}
    if executed:
        o['executed_by'] = list(executed)
    return o


@pytest.mark.parametrize('kind,row,state', [
    ('create_volume', ['available', False, 1], 'done'),
    ('create_volume', ['creating', False, 1], 'pending'),
    ('create_volume', ['error', False, 1], 'error'),
    ('create_volume', None, 'pending'),
    ('delete_volume', ['deleted', True, 1], 'done'),
    ('delete_volume', ['deleting', True, 1], 'done'),
    ('delete_volume', ['deleting', False, 1], 'pending'),
    ('delete_volume', ['error_deleting', False, 1], 'error'),
    ('delete_volume', None, 'done'),
    ('create_snapshot', ['available', False, 1], 'done'),
    ('create_snapshot', ['creating', False, 1], 'pending'),
    ('extend_volume', ['available', False, 2], 'done'),
    ('extend_volume', ['available', False, 1], 'error'),
    ('extend_volume', ['error_extending', False, 1], 'error'),
    ('extend_volume', ['extending', False, 1], 'pending'),
    ('create_backup', ['available', False, 1], 'done'),
    ('create_backup', ['error', False, 1], 'error'),
    ('restore_backup', ['restoring-backup', False, 1], 'pending'),
    ('restore_backup', ['error_restoring', False, 1], 'error'),
    ('restore_backup', ['available', False, 1], 'done'),
])
def test_op_state(kind, row, state):
    assert model.op_state(kind, row) == state


def test_classify_done_error_stuck_lost():
    avail = (1.0, ['available', False, 1])
    creating = (0.5, ['creating', False, 1])
    err = (0.7, ['error', False, 1])
    assert model.classify(op(history=[creating, avail])) == 'done'
    # flipped to error by a cleanup, then finished: a user saw error
    assert model.classify(op(history=[creating, err, avail])) == 'error'
    assert model.classify(op(history=[creating], executed=['vol-0'])) == \
        'stuck'
    assert model.classify(op(history=[creating])) == 'lost'
    assert model.classify(op(history=[])) == 'lost'


def ev(t, e, opname, rid, gen):
    return {'t': t, 'ev': e, 'op': opname, 'id': rid, 'gen': gen, 'pid': 1}


def test_apply_events_and_metrics():
    ops = [op(rid='a', sent=1.0), op(rid='b', sent=1.1),
           op(rid='c', sent=6.0, phase='late'),
           op(kind='create_backup', rid='bk', sent=1.2)]
    events = [ev(1.5, 'start', 'create_volume', 'a', 'vol-0'),
              ev(1.6, 'start', 'create_volume', 'b', 'vol-0'),
              ev(7.0, 'end', 'create_volume', 'a', 'vol-0'),
              ev(7.2, 'call', 'remove_export', 'x', 'vol-0'),
              ev(2.0, 'start', 'backup', 'bk', 'bak-0'),
              ev(9.0, 'start', 'create_volume', 'c', 'vol-1'),
              ev(9.5, 'end', 'create_volume', 'c', 'vol-1'),
              ev(1.0, 'ready', 'get_volume_stats', None, 'vol-0')]
    model.apply_events(ops, events)
    assert ops[0]['executed_by'] == ['vol-0']
    assert ops[0]['runs'][0]['end'] == 7.0
    assert ops[1]['runs'][0]['end'] is None
    assert ops[2]['executed_by'] == ['vol-1']
    assert ops[3]['executed_by'] == ['bak-0']
    assert model.last_activity(events, 'vol-0') == 7.2
    pod = {'name': 'vol-0', 'sigterm': 5.0, 'exit': 7.5, 'rc': 0}
    m = model.pod_metrics(pod, events, ops)
    assert m['in_flight'] == 2
    assert m['arriving'] == 1
    assert m['sigterm_to_exit'] == pytest.approx(2.5)
    assert m['last_op_to_exit'] == pytest.approx(0.3)
    # the DB final state seen after the last driver event counts too
    ops[0]['done_at'] = 7.3
    m = model.pod_metrics(pod, events, ops)
    assert m['last_op_to_exit'] == pytest.approx(0.2)
    ops[0]['done_at'] = 8.0      # after the exit: not this pod's finish
    m = model.pod_metrics(pod, events, ops)
    assert m['last_op_to_exit'] == pytest.approx(0.3)
    # ... unless the last poll before the exit still saw it unfinished: it
    # finished after that poll, and the exit came after it
    ops[0]['pending_seen_at'] = 7.35
    m = model.pod_metrics(pod, events, ops)
    assert m['last_op_to_exit'] == pytest.approx(0.15)
    ops[0]['pending_seen_at'] = 7.9     # still unfinished after the exit
    m = model.pod_metrics(pod, events, ops)
    assert m['last_op_to_exit'] == pytest.approx(0.3)
    # 'c' was cast at 6.0, during the drain, and started at 9.0 on vol-1
    assert m['arrival_to_start'] == pytest.approx(3.0)


def test_scheduled_create_runs_as_the_drivers_create():
    # a create sent through cinder-scheduler ends in the driver's
    # create_volume; a delete's run must not be taken for it
    ops = [op(kind='schedule_volume', rid='s', sent=1.0)]
    model.apply_events(ops, [ev(1.5, 'start',
                                'delete_volume', 's', 'vol-0')])
    assert 'executed_by' not in ops[0]
    model.apply_events(ops, [ev(1.6, 'start', 'create_volume', 's',
                                'vol-0')])
    assert ops[0]['executed_by'] == ['vol-0']
    assert model.op_state('schedule_volume', ['available', False, 1]) == \
        'done'
    assert model.classify(op(kind='schedule_volume',
                             history=[(1.0, ['creating', False, 1])])) == \
        'lost'


def test_arrival_to_start_none_without_arrivals():
    pod = {'name': 'vol-0', 'sigterm': 5.0, 'exit': 6.0, 'rc': 0}
    late = op(rid='c', sent=5.5, phase='late')     # never started
    assert model.pod_metrics(pod, [], [late])['arrival_to_start'] is None


def test_last_activity_bounded_by_exit():
    events = [ev(1.0, 'end', 'create_volume', 'a', 'vol-0'),
              ev(9.0, 'end', 'create_volume', 'b', 'vol-0')]
    assert model.last_activity(events, 'vol-0') == 9.0
    assert model.last_activity(events, 'vol-0', until=5.0) == 1.0
    assert model.last_activity(events, 'vol-1') is None


def test_pod_metrics_no_activity_after_sigterm():
    events = [ev(1.0, 'end', 'create_volume', 'a', 'vol-0')]
    pod = {'name': 'vol-0', 'sigterm': 5.0, 'exit': 6.0, 'rc': 0}
    m = model.pod_metrics(pod, events, [])
    assert m['last_op_to_exit'] is None


def _result(n=1, variant='patched', hist_final=('available', False, 1),
            rc=0, exit_t=7.4, long_final=None):
    ops = [op(rid='a', history=[(1.0, ['creating', False, 1]),
                                (7.1, list(hist_final))])]
    if long_final is not None:
        ops.append(op(rid='L', phase='long',
                      history=[(1.0, ['creating', False, 1]),
                               (30.0, list(long_final))],
                      executed=['vol-0']))
    return {
        'scenario': n, 'name': 'x', 'variant': variant, 'started': 0.0,
        # what the run of scenario n carries from its declaration
        'contract': list(scenarios.SCENARIOS[n].contract),
        'limits': dict(scenarios.SCENARIOS[n].limits),
        'ops': ops,
        'pods': [{'name': 'vol-0', 'start': 0.0, 'ready': 0.5,
                  'exit': exit_t, 'rc': rc, 'signals': [(5.0, 'SIGTERM')],
                  'sigterm': 5.0},
                 {'name': 'vol-1', 'start': 8.0, 'ready': 9.0, 'exit': 20.0,
                  'rc': 0, 'signals': [(19.0, 'SIGTERM')], 'sigterm': 19.0}],
        'measured': ['vol-0'],
        'events': [ev(1.5, 'start', 'create_volume', 'a', 'vol-0'),
                   ev(7.0, 'end', 'create_volume', 'a', 'vol-0')],
    }


def test_summarize_and_contract_pass():
    r = model.summarize(_result())
    assert r['counts'] == {'done': 1, 'stuck': 0, 'error': 0, 'lost': 0}
    assert r['in_flight'] == 1 and r['exit_codes'] == [0]
    assert r['last_op_to_exit'] == pytest.approx(0.4)
    assert model.check_contract(r) == []


def test_contract_violations():
    r = model.summarize(_result(rc=1, exit_t=9.0,
                                hist_final=('error', False, 1)))
    bad = model.check_contract(r)
    assert any('error' in b for b in bad)
    assert any('exit code 1' in b for b in bad)
    assert any('after its last op' in b for b in bad)


def test_contract_crash_allows_cleaned_errors():
    r = model.summarize(_result(n=6, hist_final=('error', False, 1)))
    r['leftover_workers'] = []
    assert model.check_contract(r) == []
    r['leftover_workers'] = [['Volume', 'a', 'creating', 1, '', False]]
    assert model.check_contract(r) == ['1 workers rows left']


def test_render_table_arrival_column():
    r = _kill_mid_drain()
    r['violations'] = []
    text = model.render_table([r], variants=('patched',))
    assert 'arr>start' in text and '10.00' in text


def test_contract_grace_period_kill():
    r = model.summarize(_result(rc=137))
    r['pods'][0].update(grace_period=60, grace_killed=10.0)
    bad = model.check_contract(r)
    assert 'vol-0 SIGKILLed at terminationGracePeriodSeconds (60s)' in bad
    assert any('exit code 137' in b for b in bad)


def _kill_mid_drain(late_final=('available', False, 1), killed=True):
    r = _result(n=13, rc=137, exit_t=15.0, hist_final=('error', False, 1))
    r['ops'][0]['sent'] = 1.0       # in flight at SIGTERM, cut by the kill
    r['ops'].append(op(rid='late1', phase='late', sent=6.0,
                       history=[(6.1, ['creating', False, 1]),
                                (30.0, list(late_final))],
                       executed=['vol-1']))
    r['events'].append(ev(16.0, 'start', 'create_volume', 'late1', 'vol-1'))
    if killed:
        r['pods'][0].update(grace_period=10, grace_killed=15.0)
    r = model.summarize(r)
    r['leftover_workers'] = []
    return r


def test_contract_kill_mid_drain():
    """Killed by the kubelet, the cut op cleaned: only late casts count."""
    r = _kill_mid_drain()
    assert r['arriving'] == 1
    assert r['arrival_to_start'] == pytest.approx(10.0)
    assert model.check_contract(r) == []
    bad = model.check_contract(_kill_mid_drain(
        late_final=('creating', False, 1)))
    assert any('late op late1' in b for b in bad)
    assert model.check_contract(_kill_mid_drain(killed=False)) == [
        'the pod was not killed mid-drain']


def test_contract_completion_served():
    r = model.summarize(_result(n=11))
    r['completions'] = ['remove_export', 'terminate_connection']
    assert model.check_contract(r) == []
    r['completions'] = []
    assert any('completions' in b for b in model.check_contract(r))


def test_contract_attach_answered():
    r = model.summarize(_result(n=25))
    assert r['contract'] == ['generic', 'attach_answered']
    r['attach'] = {'ok': True, 'error': None}
    assert model.check_contract(r) == []
    r['attach'] = {'ok': False, 'error': 'MessagingTimeout: no reply'}
    assert model.check_contract(r) == [
        'the attach running at SIGTERM was not answered: '
        'MessagingTimeout: no reply']
    del r['attach']
    assert model.check_contract(r) == [
        'the attach running at SIGTERM was not answered: no answer']


def test_contract_kill_mid_drain_quorum():
    r = _kill_mid_drain()
    r['scenario'] = 15
    assert model.check_contract(r) == []


def test_contract_mixed_versions_against_baseline():
    """Mixed versions may lose what upstream alone loses, not more."""
    lost = _result(n=18, hist_final=('creating', False, 1))
    lost['events'] = []         # never executed: lost
    r = model.summarize(lost)
    assert r['counts']['lost'] == 1
    assert model.check_contract(r) == [
        'no upstream baseline to compare with']
    up = {'counts': {'done': 0, 'stuck': 0, 'error': 0, 'lost': 1}}
    assert model.with_baseline(r, up)['violations'] == []
    up['counts']['lost'] = 0
    assert model.with_baseline(r, up)['violations'] == [
        '1 lost, upstream only 0']
    # an error or a non-zero exit of a mixed pod is upstream's behaviour
    err = ('error', False, 1)
    ok = model.summarize(_result(n=18, rc=143, hist_final=err))
    assert model.with_baseline(ok, up)['violations'] == []


def test_contract_backup_cleaned_once():
    err = ('error', False, 1)
    r = model.summarize(_result(n=20, rc=137, hist_final=err))
    r['cleanups'] = {'a': 1}
    assert model.check_contract(r) == []
    r['cleanups'] = {'a': 2}
    assert model.check_contract(r) == ['backup a reset 2 times']
    r['cleanups'] = {}
    assert model.check_contract(r) == ['backup ? reset 0 times']


def test_contract_drain_timeout_exit_code():
    r = model.summarize(_result(n=7, rc=137, exit_t=13.2,
                                long_final=('error', False, 1)))
    r['drain_timeout'] = 8
    r['leftover_workers'] = []
    r['ops'][0]['phase'] = 'inflight'
    assert model.check_contract(r) == ['vol-0 exit code 137']


def test_contract_drain_timeout():
    r = model.summarize(_result(n=7, exit_t=13.2,
                                long_final=('error', False, 1)))
    r['drain_timeout'] = 8
    r['leftover_workers'] = []
    r['ops'][0]['phase'] = 'inflight'
    assert model.check_contract(r) == []
    r2 = model.summarize(_result(n=7, exit_t=30.0,
                                 long_final=('creating', False, 1)))
    r2['drain_timeout'] = 8
    r2['leftover_workers'] = []
    bad = model.check_contract(r2)
    assert any('timeout' in b for b in bad)
    assert any('long op' in b for b in bad)


def test_render_table_side_by_side():
    rs = [model.summarize(_result(1, 'patched')),
          model.summarize(_result(1, 'upstream', rc=137,
                                  hist_final=('creating', False, 1)))]
    rs[0]['violations'] = []
    text = model.render_table(rs)
    lines = text.splitlines()
    assert 'patched' in lines[0] and 'upstream' in lines[0]
    row = lines[3]
    assert row.startswith('1 x')
    assert '137' in row and 'yes' in row
    # upstream block: the op stuck (executed, never final)
    assert row.split('|')[2].split()[2] == '1'


def test_render_table_missing_variant_and_failure():
    r = {'scenario': 2, 'name': 'late', 'variant': 'upstream', 'ops': [],
         'failure': 'boom'}
    text = model.render_table([r])
    assert 'FAIL' in text


def test_json_report_drops_events():
    r = model.summarize(_result())
    r['events'].append(ev(7.2, 'call', 'remove_export', 'x', 'vol-1'))
    doc = model.json_report([r], {'quick': True})
    assert 'events' not in doc['results'][0]
    assert doc['results'][0]['event_count'] == 3
    assert doc['results'][0]['calls'] == [
        {'t': 7.2, 'gen': 'vol-1', 'op': 'remove_export', 'id': 'x'}]
    json.dumps(doc, default=str)


def test_parse_scenarios():
    assert cli.parse_scenarios('default') == list(range(1, 10)) + list(
        range(11, 26))
    assert cli.parse_scenarios('all') == list(range(1, 26))
    assert cli.parse_scenarios('1,3-5,3') == [1, 3, 4, 5]
    with pytest.raises(argparse.ArgumentTypeError,
                       match=r'unknown scenarios: \[99\]'):
        cli.parse_scenarios('99')


def test_cinder_conf_patch_options(tmp_path):
    t = config.Timing(quick=True)
    p = config.cinder_conf(str(tmp_path / 'c.conf'), state_dir='/s',
                           db_url='mysql+pymysql://x', transport_url='rabbit:'
                           '//y', timing=t,
                           overrides={('DEFAULT', 'graceful_shutdown_timeout'):
                                      7})
    text = open(p).read()
    # the patch's timeouts are derived, as operators get them by default
    for sec, opt in config.PATCH_OPTIONS.values():
        assert opt not in text
    assert 'graceful_shutdown_timeout = 7' in text
    assert 'volume_driver = drill.slowdriver.SlowDriver' in text
    assert 'host = %s' % config.HOST in text
    assert 'backup_workers = 2' in text


def test_held_until_exit_and_prefetch_contract():
    # vol-0's last op ends at 7.0, it exits at 7.4: 'h' started on vol-1
    # only after that last op (held by the stopped consumer, requeued as
    # it closed), 'f' started at once (0.5 s after its cast)
    r = _result(n=23)
    r['ops'] += [op(rid='h', sent=6.0, phase='overlap',
                    history=[(9.0, ['available', False, 1])]),
                 op(rid='f', sent=6.2, phase='overlap',
                    history=[(9.0, ['available', False, 1])])]
    r['events'] += [ev(7.2, 'start', 'create_volume', 'h', 'vol-1'),
                    ev(6.7, 'start', 'create_volume', 'f', 'vol-1')]
    r = model.summarize(r)
    assert r['held_until_exit'] == 1
    assert r['free_arrival_to_start'] == pytest.approx(0.5)
    assert model.check_contract(r) == []
    # three held with two queues at prefetch 1, and a slow free one
    r['held_until_exit'] = 3
    r['free_arrival_to_start'] = 2.5
    assert model.check_contract(r) == [
        '3 arrivals held until the exit (prefetch allows 2)',
        'the other arrivals waited 2.50 s (max 2.0)']
    r['free_arrival_to_start'] = None      # none went elsewhere
    assert 'the other arrivals waited - s (max 2.0)' in \
        model.check_contract(r)


def test_held_until_exit_per_backend_process():
    # cinder-volume runs one process per backend: slow1's ends its last op
    # at 6.0 and exits, so the broker requeues what its stopped consumer
    # held ('h1' starts at 6.2), while slow2's drains on to 7.0.  'h1' was
    # held all the same; 'f' started 0.3 s after its cast.
    r = _result(n=23)
    r['pods'][0]['binary'] = 'cinder-volume'
    for o in r['ops']:
        o['backend'] = 'slow2'
    r['ops'] += [op(rid='b1', history=[(1.0, ['creating', False, 1]),
                                       (6.1, ['available', False, 1])]),
                 op(rid='h1', sent=5.2, phase='overlap',
                    history=[(9.0, ['available', False, 1])]),
                 op(rid='f', sent=5.3, phase='overlap',
                    history=[(9.0, ['available', False, 1])])]
    for o in r['ops'][-3:]:
        o['backend'] = 'slow1'
    r['events'] += [ev(1.5, 'start', 'create_volume', 'b1', 'vol-0'),
                    ev(6.0, 'end', 'create_volume', 'b1', 'vol-0'),
                    ev(6.2, 'start', 'create_volume', 'h1', 'vol-1'),
                    ev(5.6, 'start', 'create_volume', 'f', 'vol-1')]
    r = model.summarize(r)
    assert r['held_until_exit'] == 1
    assert r['free_arrival_to_start'] == pytest.approx(0.3)
    assert model.check_contract(r) == []


def test_scenarios_declared_once():
    """Each scenario is one declaration: name, contract, timing, conf."""
    assert sorted(scenarios.SCENARIOS) == list(range(1, 26))
    names = [sc.name for sc in scenarios.SCENARIOS.values()]
    assert len(set(names)) == len(names)
    assert scenarios.DEFAULT == tuple(n for n in scenarios.ALL if n != 10)
    for n, sc in scenarios.SCENARIOS.items():
        assert sc.contract and set(sc.contract) <= model.CONTRACTS, n
        assert callable(sc.func), n
        for key in sc.conf:
            assert len(key) == 2, (n, key)
    with pytest.raises(ValueError, match='unknown contracts'):
        model.check_contract({'contract': ['genric'], 'counts': {}})


def test_scenario_timing_and_conf():
    sc = scenarios.SCENARIOS[7]
    quick, full = sc.durations(True), sc.durations(False)
    assert quick['drain_timeout'] == 8 == full['drain_timeout']
    st = argparse.Namespace(**quick)
    conf = sc.conf_overrides(st)
    assert conf[config.PATCH_OPTIONS['drain_timeout']] == 8
    assert conf[('DEFAULT', 'graceful_shutdown_timeout')] == 18
    assert scenarios.SCENARIOS[8].durations(True)['op'] == 34.0
    assert scenarios.SCENARIOS[8].durations(False)['op'] == 45.0
    assert scenarios.SCENARIOS[1].conf_overrides(st) is None


def test_contract_first_rollout_judges_the_replacement():
    """17: the old pod is upstream in both variants; its losses are a race
    two runs decide differently (CI measured 3 vs 4 and 4 vs 3), so they
    are reported, not compared; what the patched replacement ran is."""
    lost = _result(n=17, hist_final=('creating', False, 1))
    lost['events'] = []         # read by the upstream old pod: lost
    r = model.summarize(lost)
    up = {'counts': {'done': 1, 'stuck': 0, 'error': 0, 'lost': 0}}
    assert model.with_baseline(r, up)['violations'] == []
    # an op the replacement (vol-1, started after the SIGTERM) ran fails
    cut = _result(n=17, hist_final=('error', False, 1))
    cut['events'] = [ev(9.5, 'start', 'create_volume', 'a', 'vol-1')]
    r = model.summarize(cut)
    assert model.with_baseline(r, up)['violations'] == [
        'create_volume a run by a replacement: error']
    # and one that exits non-zero
    bad_exit = _result(n=17)
    bad_exit['pods'][1]['rc'] = 1
    r = model.summarize(bad_exit)
    assert model.with_baseline(r, up)['violations'] == [
        'vol-1 (replacement) exit code 1']
    # stuck is still compared with the baseline
    assert scenarios.SCENARIOS[17].contract == ('mixed', 'old_pod_upstream')
