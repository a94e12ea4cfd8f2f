"""The operations of one drill run: sent, and their DB state over time."""
import threading
import time

from drill import model


class OpTracker:
    """What a run sent (``ops``) and what the database says of it.

    ``client`` is the drill client (``call(method, **kwargs)``), set once
    the first pod is ready; ``events`` the driver events of the run.
    """

    def __init__(self, events, client=None):
        self.events = events
        self.client = client
        self.ops = []
        self.errors = {}            # poll errors: count and the last one
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def send(self, specs, phase):
        res = self.client.call('send', ops=specs)
        with self._lock:
            for r in res:
                r['phase'] = phase
                r['history'] = []
                r['idx'] = len(self.ops)
                self.ops.append(r)
        return res

    def ids(self):
        ids = {'volumes': [], 'snapshots': [], 'backups': []}
        with self._lock:
            for op in self.ops:
                ids[model.table_of(op['kind'])].append(op['rid'])
        return ids

    def poll_once(self):
        ids = self.ids()
        queried = set(ids['volumes']) | set(ids['snapshots']) | set(
            ids['backups'])
        asked = time.time()
        rows = self.client.call('status', **ids)
        now = time.time()
        with self._lock:
            for op in self.ops:
                if op['rid'] not in queried:
                    continue    # sent after the query was built
                row = rows.get(op['rid'])
                hist = op['history']
                if not hist or hist[-1][1] != row:
                    hist.append([now, row])
                    if op.get('done_at') is None and model.op_state(
                            op['kind'], row) != 'pending':
                        op['done_at'] = now
                if op.get('done_at') is None:
                    # unfinished when the DB was read (after ``asked``)
                    op['pending_seen_at'] = asked
        self.events.poll()

    def poll(self):
        """Poll every 0.1 s until stop(); meant for a thread."""
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - e.g. DB outage
                self.errors['poll_errors'] = self.errors.get(
                    'poll_errors', 0) + 1
                self.errors['last_poll_error'] = str(exc)[:200]
            self._stop.wait(0.1)

    def start_polling(self):
        threading.Thread(target=self.poll, daemon=True).start()

    def stop(self):
        self._stop.set()

    def started(self, ops, op=None):
        """Whether the driver started each of ops: its own run, or with
        op that driver call (get_backup_device, the device of a backup,
        runs before the backup's own run and does not count otherwise)."""
        want = {o['rid'] for o in ops}
        started = {e['id'] for e in self.events.select(ev='start')
                   if (e.get('op') == op if op else
                       e.get('op') != 'get_backup_device')}
        return want <= started

    def pending(self, phase=None):
        with self._lock:
            return [op for op in self.ops
                    if (phase is None or op['phase'] == phase) and
                    model.op_state(op['kind'], op['history'][-1][1]
                                   if op['history'] else None) == 'pending']

    def active_runs(self, alive):
        """Driver runs started and not ended in the pods named in alive
        (a run of a dead pod never ends)."""
        open_runs = {}
        for e in self.events.poll():
            key = (e.get('gen'), e.get('id'), e.get('op'))
            if e.get('ev') == 'start':
                open_runs[key] = open_runs.get(key, 0) + 1
            elif e.get('ev') == 'end':
                open_runs[key] = open_runs.get(key, 0) - 1
        return sum(n for (gen, _, _), n in open_runs.items()
                   if n > 0 and gen in alive)
