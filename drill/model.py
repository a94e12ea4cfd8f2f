"""Pure logic of the drill (no servers): op states, classification, metrics,
contracts, table and JSON building.  Unit tested in tests/drill/."""

DONE, ERROR, STUCK, LOST = 'done', 'error', 'stuck', 'lost'
CATEGORIES = (DONE, STUCK, ERROR, LOST)

# kind -> (table of rid, statuses meaning done, statuses meaning error)
KINDS = {
    'create_volume': ('volumes', {'available'}, {'error'}),
    # a create sent to cinder-scheduler (the driver event is create_volume)
    'schedule_volume': ('volumes', {'available'}, {'error'}),
    'delete_volume': ('volumes', {'deleted'}, {'error_deleting', 'error'}),
    'create_snapshot': ('snapshots', {'available'}, {'error'}),
    'extend_volume': ('volumes', {'available'}, {'error_extending', 'error'}),
    'create_backup': ('backups', {'available'}, {'error'}),
    'restore_backup': ('volumes', {'available'},
                       {'error_restoring', 'error'}),
}
# driver event op name -> op kind whose rid equals the event id
EVENT_KIND = {
    'create_volume': 'create_volume', 'delete_volume': 'delete_volume',
    'create_snapshot': 'create_snapshot', 'extend_volume': 'extend_volume',
    'backup': 'create_backup', 'restore': 'restore_backup',
}
# op kinds whose driver run is another kind's (the scheduler's create ends
# in the volume driver's create_volume)
RUN_KIND = {'schedule_volume': 'create_volume'}


def table_of(kind):
    return KINDS[kind][0]


def op_state(kind, row):
    """State of one operation from its DB row [status, deleted, size].

    Returns 'done', 'error' or 'pending'.  A missing row of a delete is done.
    """
    _, done, error = KINDS[kind]
    if row is None:
        return DONE if kind == 'delete_volume' else 'pending'
    status, deleted = row[0], row[1]
    if kind == 'delete_volume' and deleted:
        return DONE
    if kind == 'extend_volume' and status == 'available':
        return DONE if (len(row) > 2 and row[2] == 2) else ERROR
    if status in done:
        return DONE
    if status in error:
        return ERROR
    return 'pending'


def classify(op):
    """Final category of an op record.

    done  - reached its final state and was never seen in an error state
    error - seen in an error state at any time (e.g. flipped by a cleanup)
    stuck - executed (a driver started it) but never reached a final state
    lost  - never executed and never reached a final state
    """
    states = [op_state(op['kind'], h[1]) for h in op.get('history', [])]
    if ERROR in states:
        return ERROR
    final = states[-1] if states else 'pending'
    if final == DONE:
        return DONE
    if op.get('executed_by'):
        return STUCK
    return LOST


def apply_events(ops, events):
    """Fill executed_by / started / ended of ops from driver events."""
    by_rid = {}
    for op in ops:
        by_rid.setdefault(op['rid'], []).append(op)
    for ev in events:
        kind = EVENT_KIND.get(ev.get('op'))
        if kind is None or ev.get('ev') not in ('start', 'end'):
            continue
        for op in by_rid.get(ev.get('id'), ()):
            if RUN_KIND.get(op['kind'], op['kind']) != kind:
                continue
            runs = op.setdefault('runs', [])
            if ev['ev'] == 'start':
                runs.append({'gen': ev['gen'], 'start': ev['t'],
                             'end': None})
                if ev['gen'] not in op.setdefault('executed_by', []):
                    op['executed_by'].append(ev['gen'])
            else:
                for run in reversed(runs):
                    if run['gen'] == ev['gen'] and run['end'] is None:
                        run['end'] = ev['t']
                        run['ok'] = ev.get('ok', True)
                        break
    return ops


def last_activity(events, gen, until=None):
    """Time the pod ``gen`` last finished something (driver end or call),
    not after ``until`` (its exit: a process orphaned by its dead PID 1 is
    not the pod any more)."""
    ts = [e['t'] for e in events
          if e.get('gen') == gen and e.get('ev') in ('end', 'call') and
          (until is None or e['t'] <= until)]
    return max(ts) if ts else None


def _held_bound(pod, ops, arrival, st, ex, last):
    """Earliest start of an arrival a stopped consumer of the pod held.

    The broker requeues it when the process that consumes the arrival's
    queue closes its connections: after that process's last op ended.
    cinder-volume runs one process per backend: that is the pod's last op
    on the same backend (another backend's process may drain longer).
    Otherwise, or without ops there, the pod's last activity, or its exit.
    """
    backend = arrival.get('backend')
    if pod.get('binary') != 'cinder-volume':
        backend = None
    ends = [run['end'] for op in ops
            if backend is not None and op.get('backend') == backend
            for run in op.get('runs', [])
            if run['gen'] == pod['name'] and run['end'] is not None and
            run['end'] >= st and (ex is None or run['end'] <= ex)]
    if ends:
        return max(ends)
    if last is not None and last >= st:
        return last
    return ex if ex is not None else 1e18


def pod_metrics(pod, events, ops):
    """Metrics of a pod that got SIGTERM (or SIGKILL)."""
    st = pod.get('sigterm')
    ex = pod.get('exit')
    last = last_activity(events, pod['name'], ex)
    # an op is finished when its final state is in the DB (seen by the 0.1 s
    # poll): count that too for ops this pod executed, if before its exit.
    # One first seen final by the poll after the exit finished between the
    # last poll that saw it unfinished and the exit: count the earlier bound
    # (this overstates lastop>exit by up to a poll, never understates it).
    for op in ops:
        d = op.get('done_at')
        if (d is None or ex is None or
                pod['name'] not in op.get('executed_by', ())):
            continue
        if d > ex:
            d = op.get('pending_seen_at')
            if d is None or d > ex:
                continue
        last = d if last is None else max(last, d)
    inflight = 0
    arriving = 0
    delays = []
    held = 0            # arrivals that started only as this pod exited
    free = []           # delays of the other arrivals
    if st is not None:
        for op in ops:
            if op.get('phase') == 'setup':
                continue
            for run in op.get('runs', []):
                if (run['gen'] == pod['name'] and run['start'] <= st and
                        (run['end'] is None or run['end'] > st)):
                    inflight += 1
                    break
            if st <= op['sent'] <= (ex if ex is not None else st + 1e9):
                arriving += 1
                starts = [run['start'] for run in op.get('runs', [])]
                if starts:
                    delays.append(min(starts) - op['sent'])
                    if min(starts) >= _held_bound(pod, ops, op, st, ex,
                                                  last):
                        held += 1
                    else:
                        free.append(min(starts) - op['sent'])
    return {
        'pod': pod['name'], 'rc': pod.get('rc'),
        'sigterm_to_exit': (ex - st) if (ex is not None and st) else None,
        'last_op_to_exit': (ex - last) if (ex is not None and last and
                                           (st is None or last >= st))
        else None,
        'in_flight': inflight, 'arriving': arriving,
        # cast during the drain -> the work started (on any pod)
        'arrival_to_start': max(delays) if delays else None,
        # a stopped consumer keeps up to rabbit_qos_prefetch_count
        # deliveries per queue until its exit; the rest go elsewhere
        'held_until_exit': held,
        'free_arrival_to_start': max(free) if free else None,
    }


def counts(ops):
    c = {k: 0 for k in CATEGORIES}
    for op in ops:
        if op.get('phase') == 'setup':
            continue
        c[op.get('category') or classify(op)] += 1
    return c


def summarize(result):
    """Fill categories, per-pod metrics and totals of one scenario result."""
    ops = result['ops']
    events = result.get('events', [])
    apply_events(ops, events)
    for op in ops:
        op['category'] = classify(op)
    result['counts'] = counts(ops)
    measured = [p for p in result['pods'] if p['name'] in
                result.get('measured', [])]
    result['pod_metrics'] = [pod_metrics(p, events, ops) for p in measured]
    pm = result['pod_metrics']
    result['in_flight'] = sum(m['in_flight'] for m in pm)
    result['arriving'] = sum(m['arriving'] for m in pm)
    result['exit_codes'] = [m['rc'] for m in pm]

    def mx(key):
        vals = [m[key] for m in pm if m[key] is not None]
        return max(vals) if vals else None
    result['sigterm_to_exit'] = mx('sigterm_to_exit')
    result['last_op_to_exit'] = mx('last_op_to_exit')
    result['arrival_to_start'] = mx('arrival_to_start')
    result['held_until_exit'] = sum(m['held_until_exit'] for m in pm)
    result['free_arrival_to_start'] = mx('free_arrival_to_start')
    return result


# ---------------------------------------------------------------- contracts
# What judges the patched fork; a scenario names those that apply to it
# (drill.scenarios.SCENARIOS, 'contract'; the result carries them):
#   generic           nothing lost, stuck or errored, something done, exit
#                     code 0 at most MAX_EXIT_AFTER_LAST_OP after the last op
#   exit0             exit code 0 (the drain timeout ends a drain with 0 too)
#   mixed             not more lost or stuck than the upstream 'baseline'
#   old_pod_upstream  (with mixed) the old pod runs upstream code in both
#                     variants, so what it loses is a race of upstream code
#                     that two runs decide differently: lost is reported,
#                     not compared; every op a replacement pod (started at
#                     or after the first SIGTERM) ran is done, and the
#                     replacements exit 0
#   workers_clean     no workers rows of the run's ops left
#   drain_timeout     the drain ends at the timeout; long op cleaned, short
#                     ones done
#   prefetch          limits max_held: arrivals a stopped consumer held until
#                     the exit; max_free_delay: the others' delay to start
#   reset_once        each backup reset exactly once by the replacement
#   completions       the draining volume pod answered the backup's detach
#   attach_answered   the attach (a call) running at SIGTERM was answered
#   killed_mid_drain  the kubelet SIGKILLed the pod (allowed), and every
#                     cast that arrived during the drain ran on the next pod
# Without 'mixed': nothing lost or stuck, and no SIGKILL at the grace period
# unless killed_mid_drain.
MAX_EXIT_AFTER_LAST_OP = 0.5
CONTRACTS = frozenset(['generic', 'exit0', 'mixed', 'old_pod_upstream',
                       'workers_clean',
                       'drain_timeout', 'prefetch', 'reset_once',
                       'completions', 'killed_mid_drain',
                       'attach_answered'])


def with_baseline(patched, upstream):
    """Give a mixed-versions result its upstream baseline and re-judge it."""
    if upstream is not None and upstream.get('counts'):
        patched['baseline'] = dict(upstream['counts'])
    patched['violations'] = check_contract(patched)
    return patched


def _mixed(result):
    c, base, bad = result['counts'], result.get('baseline'), []
    old_upstream = 'old_pod_upstream' in (result.get('contract') or ())
    if base is None:
        bad.append('no upstream baseline to compare with')
    else:
        for k in (STUCK,) if old_upstream else (LOST, STUCK):
            if c[k] > base[k]:
                bad.append('%d %s, upstream only %d' % (c[k], k, base[k]))
    if old_upstream:
        bad += _replacements(result)
    if result.get('failure'):
        bad.append('scenario failed: %s' % result['failure'])
    return bad


def _replacements(result):
    """What the pods started at or after the first SIGTERM decided."""
    pods = result.get('pods') or []
    first = min((p['sigterm'] for p in pods if p.get('sigterm')),
                default=None)
    new = {p['name']: p for p in pods
           if first is not None and p['start'] >= first}
    if not new:
        return ['no replacement pod started after the first SIGTERM']
    bad = ['%s (replacement) exit code %s' % (name, p.get('rc'))
           for name, p in sorted(new.items()) if p.get('rc') != 0]
    for op in result['ops']:
        if (set(op.get('executed_by') or ()) & set(new) and
                op['category'] != DONE):
            bad.append('%s %s run by a replacement: %s' % (
                op.get('kind'), op.get('rid'), op['category']))
    return bad


def _exit(result, fast):
    bad = []
    for m in result['pod_metrics']:
        if m['rc'] != 0:
            bad.append('%s exit code %s' % (m['pod'], m['rc']))
        if (fast and m['last_op_to_exit'] is not None and
                m['last_op_to_exit'] > MAX_EXIT_AFTER_LAST_OP):
            bad.append('%s exited %.2fs after its last op' % (
                m['pod'], m['last_op_to_exit']))
    return bad


def _drain_timeout(result):
    bad = []
    t = result.get('drain_timeout')
    ste = result.get('sigterm_to_exit')
    if ste is None or t is None or not (t - 0.5 <= ste <= t + 5):
        bad.append('drain did not end at the timeout (%ss): %s' % (t, ste))
    for op in result['ops']:
        if op.get('phase') == 'long' and op['category'] not in (DONE, ERROR):
            bad.append('long op %s not recovered/cleaned' % op['rid'])
        if op.get('phase') == 'inflight' and op['category'] != DONE:
            bad.append('short op %s %s' % (op['rid'], op['category']))
    return bad


def _prefetch(result):
    limits, bad = result.get('limits') or {}, []
    held = result.get('held_until_exit') or 0
    free = result.get('free_arrival_to_start')
    if held > limits['max_held']:
        bad.append('%d arrivals held until the exit (prefetch allows '
                   '%d)' % (held, limits['max_held']))
    if free is None or free > limits['max_free_delay']:
        bad.append('the other arrivals waited %s s (max %s)' % (
            _fmt_s(free), limits['max_free_delay']))
    return bad


def _reset_once(result):
    return ['backup %s reset %d times' % (rid, k)
            for rid, k in sorted((result.get('cleanups') or
                                  {'?': 0}).items()) if k != 1]


def _completions(result):
    if {'terminate_connection', 'remove_export'} <= set(
            result.get('completions') or ()):
        return []
    return ['the draining volume pod did not answer the backup\'s '
            'completions: %s' % result.get('completions')]


def _attach_answered(result):
    attach = result.get('attach') or {}
    if attach.get('ok'):
        return []
    return ['the attach running at SIGTERM was not answered: %s' % (
        attach.get('error') or 'no answer')]


def _killed_mid_drain(result):
    bad = []
    if not result.get('arriving'):
        bad.append('no cast arrived during the drain')
    for op in result['ops']:
        if op.get('phase') == 'late' and op['category'] != DONE:
            bad.append('late op %s %s' % (op['rid'], op['category']))
    if not any(p.get('grace_killed') for p in result.get('pods', [])):
        bad.append('the pod was not killed mid-drain')
    return bad


def check_contract(result):
    """List of violated expectations of the PATCHED fork (empty = pass)."""
    contract = set(result.get('contract') or ())
    if contract - CONTRACTS:
        raise ValueError('unknown contracts: %s' % sorted(
            contract - CONTRACTS))
    if 'mixed' in contract:
        return _mixed(result)
    c = result['counts']
    bad = ['%d %s' % (c[k], k) for k in (LOST, STUCK) if c[k]]
    if 'generic' in contract:
        if c[ERROR]:
            bad.append('%d error' % c[ERROR])
        if not c[DONE]:
            bad.append('no operation done')
    if contract & {'generic', 'exit0'}:
        bad += _exit(result, fast='generic' in contract)
    for pod in result.get('pods', []):
        if pod.get('grace_killed') and 'killed_mid_drain' not in contract:
            bad.append('%s SIGKILLed at terminationGracePeriodSeconds '
                       '(%ss)' % (pod['name'], pod.get('grace_period')))
    if 'workers_clean' in contract and result.get('leftover_workers'):
        bad.append('%d workers rows left' % len(result['leftover_workers']))
    checks = {'drain_timeout': _drain_timeout, 'prefetch': _prefetch,
              'reset_once': _reset_once, 'completions': _completions,
              'killed_mid_drain': _killed_mid_drain,
              'attach_answered': _attach_answered}
    for name in sorted(contract & set(checks)):
        bad += checks[name](result)
    if result.get('failure'):
        bad.append('scenario failed: %s' % result['failure'])
    return bad


# -------------------------------------------------------------- rendering
def _fmt_s(v):
    return '-' if v is None else '%.2f' % v


def cell(result):
    if result is None:
        return None
    if result.get('failure') and not result.get('ops'):
        return {'in/arr': '-', 'done': '-', 'stuck': '-', 'err': '-',
                'lost': '-', 'rc': 'FAIL', 'TERM>exit': '-',
                'lastop>exit': '-', 'arr>start': '-'}
    c = result['counts']
    return {
        'in/arr': '%d/%d' % (result['in_flight'], result['arriving']),
        'done': str(c[DONE]), 'stuck': str(c[STUCK]), 'err': str(c[ERROR]),
        'lost': str(c[LOST]),
        'rc': ','.join('-' if r is None else str(r)
                       for r in result['exit_codes']) or '-',
        'TERM>exit': _fmt_s(result['sigterm_to_exit']),
        'lastop>exit': _fmt_s(result['last_op_to_exit']),
        'arr>start': _fmt_s(result.get('arrival_to_start')),
    }


LEGEND = (
    'in/arr: ops in flight at SIGTERM / arriving during the drain; '
    'done/stuck/err/lost: final state of every op (err = ever seen in an '
    'error state, lost = never executed); rc: exit code of each signalled '
    'pod, as a container runtime reports it (143 = killed by SIGTERM, '
    '142 = SIGALRM, 137 = SIGKILL); '
    'TERM>exit: seconds from SIGTERM (or SIGKILL) to exit; lastop>exit: '
    'seconds from the last op the pod finished to its exit; arr>start: '
    'longest delay from a cast that arrived during the drain to the start '
    'of its work (on any pod); ok: contracts of the patched fork hold.')
COLS = ('in/arr', 'done', 'stuck', 'err', 'lost', 'rc', 'TERM>exit',
        'lastop>exit', 'arr>start')


def render_table(results, variants=('patched', 'upstream')):
    """Side-by-side text table: one row per scenario, a block per variant."""
    names = {}
    by = {}
    for r in results:
        names[r['scenario']] = r['name']
        by[(r['scenario'], r['variant'])] = r
    scen = sorted(names)
    head1 = ['', '']
    head2 = ['#', 'scenario']
    rows = []
    for n in scen:
        rows.append([str(n), names[n]])
    for v in variants:
        for i, col in enumerate(COLS):
            head1.append(v if i == 0 else '')
            head2.append(col)
        for row, n in zip(rows, scen):
            c = cell(by.get((n, v)))
            for col in COLS:
                row.append('' if c is None else c[col])
        # contract verdict of the patched fork
        if v == 'patched':
            head1.append('')
            head2.append('ok')
            for row, n in zip(rows, scen):
                r = by.get((n, v))
                row.append('' if r is None else
                           ('yes' if not r.get('violations') else 'NO'))
    allrows = [head1, head2] + rows
    widths = [max(len(r[i]) for r in allrows) for i in range(len(head2))]
    sep_after = {1}
    k = 2
    for v in variants:
        k += len(COLS) + (1 if v == 'patched' else 0)
        sep_after.add(k - 1)
    lines = []
    for j, r in enumerate(allrows):
        parts = []
        for i, val in enumerate(r):
            parts.append(val.ljust(widths[i]) if i < 2 else
                         val.rjust(widths[i]))
            if i in sep_after and i != len(r) - 1:
                parts.append('|')
        lines.append(' '.join(parts).rstrip())
        if j == 1:
            lines.append('-' * len(lines[-1]))
    return '\n'.join(lines)


def json_report(results, meta):
    """The JSON document: meta + per scenario/variant summaries and ops."""
    out = {'meta': meta, 'results': []}
    for r in results:
        d = {k: v for k, v in r.items() if k != 'events'}
        evs = r.get('events', [])
        d['event_count'] = len(evs)
        # support calls (initialize/terminate_connection, exports): which
        # pod answered them, and when
        d['calls'] = [{'t': e['t'], 'gen': e.get('gen'), 'op': e.get('op'),
                       'id': e.get('id')}
                      for e in evs if e.get('ev') == 'call']
        out['results'].append(d)
    return out
