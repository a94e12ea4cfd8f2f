"""The op tracker of a drill run, with a fake client (no servers)."""
import json

from drill import services
from drill.tracker import OpTracker


class FakeClient:
    """Stands for the drill client: ops sent, rows the DB returns."""

    def __init__(self):
        self.rows = {}
        self.fail = None
        self.n = 0

    def call(self, method, **kwargs):
        if self.fail:
            raise self.fail
        if method == 'send':
            out = []
            for spec in kwargs['ops']:
                self.n += 1
                out.append({'kind': spec['kind'], 'rid': 'r%d' % self.n,
                            'sent': float(self.n)})
            return out
        assert method == 'status'
        wanted = set(kwargs['volumes']) | set(kwargs['backups'])
        return {rid: row for rid, row in self.rows.items() if rid in wanted}


def _tracker(tmp_path, recs=()):
    path = tmp_path / 'ev.jsonl'
    path.write_text(''.join(json.dumps(r) + '\n' for r in recs))
    client = FakeClient()
    return OpTracker(services.Events(str(path)), client), client


def test_send_poll_pending(tmp_path):
    tracker, client = _tracker(tmp_path)
    a, b = tracker.send([{'kind': 'create_volume'},
                         {'kind': 'create_backup'}], 'inflight')
    late, = tracker.send([{'kind': 'create_volume'}], 'late')
    assert [op['idx'] for op in tracker.ops] == [0, 1, 2]
    assert tracker.ids() == {'volumes': ['r1', 'r3'], 'snapshots': [],
                             'backups': ['r2']}
    client.rows = {'r1': ['creating', False, 1], 'r2': ['creating', False, 1]}
    tracker.poll_once()
    assert [op['rid'] for op in tracker.pending()] == ['r1', 'r2', 'r3']
    assert [op['rid'] for op in tracker.pending('late')] == ['r3']
    client.rows['r1'] = ['available', False, 1]
    tracker.poll_once()
    assert a['done_at'] is not None and 'pending_seen_at' in a
    assert [h[1] for h in a['history']] == [['creating', False, 1],
                                            ['available', False, 1]]
    # unchanged rows add no history; unfinished ops note when last seen
    tracker.poll_once()
    assert len(b['history']) == 1
    assert b['pending_seen_at'] >= a['done_at']
    assert [op['rid'] for op in tracker.pending()] == ['r2', 'r3']


def test_poll_errors_counted(tmp_path):
    tracker, client = _tracker(tmp_path)
    tracker.send([{'kind': 'create_volume'}], 'inflight')
    client.fail = RuntimeError('database is down')
    seen = []
    real = tracker.poll_once

    def once():
        try:
            real()
        finally:
            seen.append(1)
            if len(seen) == 3:
                tracker.stop()
    tracker.poll_once = once
    tracker.poll()          # returns once stopped
    assert tracker.errors == {'poll_errors': 3,
                              'last_poll_error': 'database is down'}


def test_active_runs_ignore_dead_pods(tmp_path):
    tracker, _ = _tracker(tmp_path, [
        {'ev': 'start', 'gen': 'vol-0', 'id': 'a', 'op': 'create_volume'},
        {'ev': 'start', 'gen': 'vol-0', 'id': 'b', 'op': 'create_volume'},
        {'ev': 'end', 'gen': 'vol-0', 'id': 'b', 'op': 'create_volume'},
        {'ev': 'start', 'gen': 'vol-1', 'id': 'c', 'op': 'delete_volume'}])
    assert tracker.active_runs({'vol-0', 'vol-1'}) == 2
    assert tracker.active_runs({'vol-1'}) == 1       # a's run was cut


def test_started_counts_the_ops_own_run(tmp_path):
    """A backup's device is prepared before its run: not its start."""
    tracker, _ = _tracker(tmp_path, [
        {'ev': 'start', 'gen': 'vol-0', 'id': 'b1',
         'op': 'get_backup_device'}])
    ops = [{'rid': 'b1'}]
    assert not tracker.started(ops)
    assert tracker.started(ops, op='get_backup_device')
    with open(tracker.events.path, 'a') as f:
        f.write(json.dumps({'ev': 'start', 'gen': 'bak-0', 'id': 'b1',
                            'op': 'backup'}) + '\n')
    assert tracker.started(ops)
