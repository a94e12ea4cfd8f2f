"""The drill scenarios.  Each is bounded in time and yields one result.

SCENARIOS, at the bottom, declares each one in one place.
"""
import dataclasses
import os
import signal
import threading
import time
import types
import typing

from drill import config
from drill import infra
from drill import model
from drill.services import ClientProc, Events, Pod, make_bindir
from drill.tracker import OpTracker

VOLUME = 'cinder-volume'
BACKUP = 'cinder-backup'
SCHEDULER = 'cinder-scheduler'
SHORT = {VOLUME: 'vol', BACKUP: 'bak', SCHEDULER: 'sch'}


class Env:
    """Shared state of one drill run: infra + the two venvs."""

    def __init__(self, workdir, timing, db, rabbit, venvs):
        self.workdir = workdir
        self.timing = timing
        self.db = db
        self.rabbit = rabbit
        self.venvs = venvs          # variant -> venv dir
        self.templates = {}         # variant -> synced template database
        self.bindir = make_bindir(os.path.join(workdir, 'bin'))


class Run:
    """One scenario against one variant."""

    def __init__(self, env, n, variant):
        self.env, self.n, self.variant = env, n, variant
        self.scenario = SCENARIOS[n]
        self.t = env.timing
        # this scenario's own durations (Scenario.timing)
        self.st = types.SimpleNamespace(**self.scenario.durations(
            self.t.quick))
        overrides = self.scenario.conf_overrides(self.st)
        self.venv = env.venvs[variant]
        self.name = self.scenario.name
        self.grace_period = getattr(self.st, 'termination_grace_period',
                                    self.t.termination_grace_period)
        self.backup_workers = int((overrides or {}).get(
            ('DEFAULT', 'backup_workers'), 2))
        self.dir = os.path.join(env.workdir, variant, 's%d' % n)
        os.makedirs(self.dir, exist_ok=True)
        self.t0 = time.time()
        self.pods = []
        self.measured = []
        self.notes = []
        self.extra = {}
        dbname = 'drill_%s_s%d' % (variant, n)
        env.db.create_db(dbname, template=env.templates[variant])
        vhost = 'drill_%s_s%d' % (variant, n)
        env.rabbit.add_vhost(vhost)
        self.vhost = vhost
        state = os.path.join(self.dir, 'state')
        os.makedirs(state, exist_ok=True)
        self._conf_args = dict(state_dir=state, db_url=env.db.url(dbname),
                               transport_url=env.rabbit.url(vhost),
                               timing=self.t)
        self.overrides = dict(overrides or {})
        self.conf = config.cinder_conf(
            os.path.join(self.dir, 'cinder.conf'), overrides=overrides,
            **self._conf_args)
        self.events = Events(os.path.join(self.dir, 'events.jsonl'))
        self.tracker = OpTracker(self.events)
        self.client = None
        self._gen = {}

    @property
    def ops(self):
        return self.tracker.ops

    # ------------------------------------------------------------ helpers
    def progress(self, phase):
        infra.log('s%-2d %-27s [%-8s] %-28s +%5.1fs', self.n, self.name,
                  self.variant, phase, time.time() - self.t0)

    def host_conf(self, host):
        """cinder.conf of another host: same services, database, broker."""
        overrides = dict(self.overrides)
        overrides[('DEFAULT', 'host')] = host
        return config.cinder_conf(
            os.path.join(self.dir, 'cinder-%s.conf' % host),
            overrides=overrides, **self._conf_args)

    def pod(self, binary, start=True, single_child=True, variant=None,
            conf=None):
        """A pod of this run's variant, or of ``variant`` (mixed versions:
        the venv of the other variant, same config and database)."""
        short = SHORT[binary]
        k = self._gen.get(short, 0)
        self._gen[short] = k + 1
        venv = self.venv
        if variant is not None and variant != self.variant:
            if variant not in self.env.venvs:
                raise infra.DrillError('mixed versions need the %s venv '
                                       '(run both variants)' % variant)
            venv = self.env.venvs[variant]
            self.notes.append('%s-%d runs %s' % (short, k, variant))
        p = Pod('%s-%d' % (short, k), binary, venv, conf or self.conf,
                self.dir,
                self.events.path, bindir=self.env.bindir,
                single_child=single_child, grace_period=self.grace_period)
        self.pods.append(p)
        if start:
            p.start()
        return p

    def ready(self, pod, host=None):
        if pod.binary == VOLUME:
            pod.wait_ready(self.events, len(config.BACKENDS),
                           self.t.ready_timeout)
        elif pod.binary == SCHEDULER:
            # consuming its host queue, and the volume services' stats in
            # (before them it holds every request: _wait_for_scheduler)
            infra.wait_until(
                lambda: (self._consumer(SCHEDULER + '.' + host) and
                         pod.log_contains('service update from')),
                self.t.ready_timeout, interval=0.5, what='%s ready' %
                pod.name)
            pod.ready_time = time.time()
        else:
            pod.wait_ready(self.events, self.backup_workers,
                           self.t.ready_timeout)
            # the backup driver reports before the RPC server consumes
            infra.wait_until(lambda: self._consumer(BACKUP + '.'), 60,
                             interval=0.5, what='cinder-backup consumer')
        if self.client is None:
            self.client = self.tracker.client = ClientProc(
                self.venv, self.conf, self.dir)
            self.tracker.start_polling()

    def _consumer(self, prefix):
        """A queue whose name starts with prefix has a consumer."""
        out = self.env.rabbit.ctl('list_queues', '-p', self.vhost, '-q',
                                  'name', 'consumers')
        for line in out.splitlines():
            parts = line.split()
            if (len(parts) == 2 and parts[0].startswith(prefix) and
                    parts[1].isdigit() and int(parts[1]) > 0):
                return True
        return False

    def send(self, specs, phase):
        return self.tracker.send(specs, phase)

    def pending(self, phase=None):
        return self.tracker.pending(phase)

    def wait_started(self, ops, timeout=60, op=None):
        """Wait until the driver started the ops (their own runs; with
        op, that driver call: get_backup_device of a backup's device)."""
        infra.wait_until(lambda: self.tracker.started(ops, op), timeout,
                         interval=0.1, what='%d ops to start' % len(ops))

    def wait_done(self, ops, timeout):
        def check():
            p = {op['rid'] for op in self.pending()}
            return not ({op['rid'] for op in ops} & p)
        infra.wait_until(check, timeout, interval=0.2, what='setup ops')

    def settle(self, max_wait=None, need_workers_clean=False):
        """Wait until every op is final, or nothing moves for a while."""
        self.progress('settle')
        max_wait = max_wait or self.t.settle_max
        deadline = time.monotonic() + max_wait
        last_change = time.monotonic()
        last_sig = None
        while time.monotonic() < deadline:
            pend = self.pending()
            running = self.active_runs()
            sig = (len(pend), running, len(self.events.poll()))
            if sig != last_sig:
                last_sig, last_change = sig, time.monotonic()
            workers_ok = True
            if need_workers_clean:
                workers_ok = not self.leftover_workers()
            if not pend and workers_ok:
                return True
            if (not need_workers_clean and not running and
                    time.monotonic() - last_change > self.t.settle_quiet):
                self.notes.append('settle: %d ops never final (quiet %ss)' %
                                  (len(pend), self.t.settle_quiet))
                return False
            time.sleep(0.5)
        self.notes.append('settle: deadline %ss reached' % max_wait)
        return False

    def active_runs(self):
        return self.tracker.active_runs({p.name for p in self.pods
                                         if p.running})

    def leftover_workers(self):
        ours = {op['rid'] for op in self.ops}
        try:
            rows = self.client.call('workers')
        except infra.DrillError:
            return ['?']
        return [r for r in rows if r[1] in ours]

    def terminate(self, pod):
        pod.signal(signal.SIGTERM)
        if pod.name not in self.measured:
            self.measured.append(pod.name)

    def finish(self, failure=None):
        self.progress('finish')
        try:
            if self.client is not None:
                try:
                    self.tracker.poll_once()
                except Exception:  # noqa: BLE001
                    pass
                self.extra['leftover_workers'] = self.leftover_workers()
        finally:
            self.tracker.stop()
            for p in self.pods:
                try:
                    p.stop(timeout=30)
                except Exception as exc:  # noqa: BLE001
                    self.notes.append('stop %s: %s' % (p.name, exc))
            if self.client is not None:
                self.client.close()
        result = {
            'scenario': self.n, 'name': self.name, 'variant': self.variant,
            'started': self.t0, 'duration': time.time() - self.t0,
            'ops': self.ops, 'pods': [p.summary() for p in self.pods],
            'measured': self.measured, 'events': self.events.poll(),
            'notes': self.notes, 'failure': failure, 'dir': self.dir,
            'contract': list(self.scenario.contract),
            'limits': dict(self.scenario.limits),
            'timing': dict(vars(self.st)),
        }
        result.update(self.tracker.errors)
        result.update(self.extra)
        model.summarize(result)
        if self.variant == 'patched':
            result['violations'] = model.check_contract(result)
        return result


# ------------------------------------------------------------- scenarios
def mix(n_create, n_delete, n_snap, seconds=None, n_extend=0):
    """Operation specs spread over the two backends."""
    specs = []
    kinds = (['create_volume'] * n_create + ['delete_volume'] * n_delete +
             ['create_snapshot'] * n_snap + ['extend_volume'] * n_extend)
    for i, kind in enumerate(kinds):
        s = {'kind': kind, 'backend': config.BACKENDS[i % 2]}
        if seconds is not None:
            s['seconds'] = seconds
        specs.append(s)
    return specs


def _start_volume(run, single_child=True, variant=None):
    run.progress('start vol-0')
    pod = run.pod(VOLUME, single_child=single_child, variant=variant)
    run.ready(pod)
    return pod


def _start_backup_with_a_backup(run):
    """Start bak-0 and make a backup to restore; return (pod, backup id)."""
    run.progress('start bak-0')
    pod = run.pod(BACKUP)
    run.ready(pod)
    run.progress('setup: backup to restore')
    setup = run.send([{'kind': 'create_backup', 'backend': 'slow1',
                       'seconds': 0}], 'setup')
    run.wait_done(setup, 60)
    return pod, setup[0]['rid']


def _replace_after_exit(run, old):
    run.progress('wait %s exit' % old.name)
    old.wait_exit(run.t.exit_timeout)
    run.progress('start replacement')
    new = run.pod(VOLUME)
    run.ready(new)
    return new


def _sigterm_with_ops_in_flight(run, specs, variant=None):
    """Start a cinder-volume pod, wait until specs run, SIGTERM the pod."""
    old = _start_volume(run, variant=variant)
    run.wait_started(run.send(specs, 'inflight'))
    run.progress('SIGTERM %s' % old.name)
    run.terminate(old)
    return old


def _late_arrivals(run, old, schedule):
    """Send a create and a delete at each offset (s) after old's SIGTERM."""
    t_term = time.time()
    for k, at in enumerate(schedule):
        # deliberate arrival schedule during the drain (not a readiness wait)
        time.sleep(max(0.0, t_term + at - time.time()))
        if not old.running:
            run.notes.append('old pod exited before late batch %d' % k)
            break
        run.progress('late arrivals +%.1fs' % at)
        run.send(mix(1, 1, 0), 'late')


def s1_inflight(run):
    old = _sigterm_with_ops_in_flight(run, mix(3, 3, 2, n_extend=1))
    _replace_after_exit(run, old)
    run.settle()


def s2_late(run):
    # in-flight ops long enough that late casts also arrive after the old
    # pod's RPC servers stopped consuming (upstream: poller exits <= ~5 s)
    old = _sigterm_with_ops_in_flight(run, mix(2, 2, 1, seconds=run.t.op * 2))
    _late_arrivals(run, old, (0.5, 3.5, 6.5))
    _replace_after_exit(run, old)
    run.settle()


def s3_overlap(run, old_variant=None, new_variant=None, arrivals=2):
    # long enough that the replacement's init_host runs while they execute
    old = _sigterm_with_ops_in_flight(
        run, mix(2, 2, 1, seconds=run.t.op * 2.5), variant=old_variant)
    run.progress('start replacement (overlap)')
    new = run.pod(VOLUME, variant=new_variant)
    run.ready(new)
    if old.running:
        run.progress('arrivals during overlap')
        run.send(mix(arrivals, arrivals, 0), 'overlap')
    else:
        run.notes.append('old pod exited before the replacement was ready')
    run.progress('wait %s exit' % old.name)
    old.wait_exit(run.t.exit_timeout)
    run.settle()


def s17_first_rollout(run):
    """Scenario 3 from a pod without the change to one with it (in the
    upstream variant: upstream to upstream, the baseline)."""
    s3_overlap(run, old_variant='upstream')


def s18_rollback(run):
    """Scenario 3 from a pod with the change back to one without it."""
    s3_overlap(run, new_variant='upstream')


def s23_overlap_prefetch(run):
    """Scenario 3 with rabbit_qos_prefetch_count 1 and more arrivals: the
    stopped consumers hold one delivery per queue until their exit, the
    replacement gets the others at once."""
    s3_overlap(run, arrivals=4)


def s4_backup(run):
    _start_volume(run)
    old, bid = _start_backup_with_a_backup(run)
    run.progress('restore + backup create')
    secs = run.t.backup_op * 2
    ops = run.send([{'kind': 'restore_backup', 'backend': 'slow2',
                     'backup_id': bid, 'seconds': secs},
                    {'kind': 'create_backup', 'backend': 'slow1',
                     'seconds': secs}], 'inflight')
    run.wait_started(ops)
    run.progress('SIGTERM %s' % old.name)
    run.terminate(old)
    run.progress('start bak-1 (meanwhile)')
    new = run.pod(BACKUP)
    run.progress('wait %s exit' % old.name)
    old.wait_exit(run.t.exit_timeout)
    run.ready(new)
    run.settle()


def s5_storm(run):
    old = _sigterm_with_ops_in_flight(run, mix(2, 2, 1))
    time.sleep(0.5)
    run.progress('signal storm')
    for sig in [signal.SIGTERM] * 5 + [signal.SIGINT, signal.SIGHUP]:
        if not old.running:
            break
        old.signal(sig)
        time.sleep(0.2)
    _replace_after_exit(run, old)
    run.settle()


def s6_crash(run):
    old = _start_volume(run)
    ops = run.send(mix(2, 2, 1), 'inflight')
    run.wait_started(ops)
    time.sleep(min(1.0, run.t.op / 3))
    _kill_and_restart(run, old)
    run.settle(max_wait=run.t.stale_settle_max, need_workers_clean=True)
    _cleanup_timing(run, old)


def _kill_and_restart(run, old):
    """SIGKILL every process of old (a crash), then start its replacement."""
    run.progress('SIGKILL %s (all pids)' % old.name)
    old.kill_all()
    run.measured.append(old.name)
    old.wait_exit(30)
    run.progress('restart')
    new = run.pod(old.binary)
    run.ready(new)
    return new


def _cleanup_timing(run, old):
    """How long after the old pod's end its cut ops were cleaned."""
    ran = {e['id'] for e in run.events.select(ev='start', gen=old.name)}
    cut = [op for op in run.ops
           if op['rid'] in ran and op.get('done_at') and
           op['done_at'] > (old.exit_time or 0)]
    if cut and old.exit_time:
        run.extra['cleaned_after_exit'] = max(
            op['done_at'] for op in cut) - old.exit_time


def s7_timeout(run):
    old = _start_volume(run)
    long_ops = run.send([{'kind': 'create_volume', 'backend': 'slow1',
                          'seconds': run.st.long_op}], 'long')
    # the short ops must end well within the drain timeout, whatever --quick
    ops = run.send(mix(1, 1, 0, seconds=run.st.drain_timeout / 2),
                   'inflight')
    run.wait_started(long_ops + ops)
    run.progress('SIGTERM %s' % old.name)
    run.terminate(old)
    _replace_after_exit(run, old)
    run.settle(max_wait=run.t.stale_settle_max, need_workers_clean=True)
    _cleanup_timing(run, old)
    # did the old pod report the abandoned long op (WARNING/ERROR line)?
    try:
        with open(old.log_file, errors='replace') as f:
            lines = [ln for ln in f
                     if ' WARNING ' in ln or ' ERROR ' in ln]
        run.extra['long_op_reported'] = all(
            any(o['rid'] in ln for ln in lines) for o in long_ops)
        run.extra['long_op_report_lines'] = [
            ln.strip()[:300] for ln in lines
            if any(o['rid'] in ln for o in long_ops)][:5]
    except OSError:
        run.extra['long_op_reported'] = None
    run.extra['drain_timeout'] = run.st.drain_timeout


def s8_faults(run):
    old = _sigterm_with_ops_in_flight(run, mix(2, 2, 0, seconds=run.st.op))
    time.sleep(0.5)
    run.progress('MariaDB down %ss' % run.st.db_outage)
    t_down = time.time()
    run.env.db.stop()
    try:
        # deliberate fault window (not a readiness wait)
        time.sleep(max(0.0, run.st.db_outage - (time.time() - t_down)))
    finally:
        run.progress('MariaDB up')
        run.env.db.start()
    run.extra['db_outage'] = [t_down, time.time()]
    run.progress('RabbitMQ restart')
    t_r = time.time()
    run.env.rabbit.stop()
    run.env.rabbit.start()
    run.extra['rabbit_restart'] = [t_r, time.time()]
    _replace_after_exit(run, old)
    run.settle()


def s9_soak(run):
    cur = _start_volume(run)
    stop = threading.Event()
    errors = []

    def traffic():
        i = 0
        while not stop.is_set() and i < 400:
            be = config.BACKENDS[i % 2]
            kind = 'create_volume' if i % 2 == 0 else 'delete_volume'
            try:
                run.send([{'kind': kind, 'backend': be,
                           'seconds': run.t.op / 2}], 'traffic')
            except Exception as exc:  # noqa: BLE001
                errors.append(str(exc)[:200])
            i += 1
            stop.wait(run.st.rate)
    th = threading.Thread(target=traffic, daemon=True)
    th.start()
    try:
        for k in range(run.st.restarts):
            time.sleep(run.t.op * 0.75)  # traffic period before the restart
            run.progress('rolling restart %d/%d' % (k + 1,
                                                    run.st.restarts))
            run.terminate(cur)
            new = run.pod(VOLUME)
            run.ready(new)
            cur.wait_exit(run.t.exit_timeout)
            cur = new
        time.sleep(run.t.op / 2)
    finally:
        stop.set()
        th.join(30)
    if errors:
        run.notes.append('traffic send errors: %s' % errors[:3])
    run.settle()


def s10_dumbinit_default(run):
    """Like 1, but dumb-init without --single-child: SIGTERM goes to the
    whole process group (parent and backend children at once)."""
    old = _start_volume(run, single_child=False)
    ops = run.send(mix(2, 2, 1), 'inflight')
    run.wait_started(ops)
    run.progress('SIGTERM %s (group mode)' % old.name)
    run.terminate(old)
    _replace_after_exit(run, old)
    run.settle()


def s11_volume_rollout_under_backup(run):
    """A restore and a backup create hold attachments on cinder-volume
    while it drains (a long create keeps it draining): their last steps
    (terminate_connection, remove_export) must be answered by the draining
    pod, not wait for its replacement."""
    vol = _start_volume(run)
    bak, bid = _start_backup_with_a_backup(run)
    secs = run.t.backup_op * 1.5
    ops = run.send([{'kind': 'restore_backup', 'backend': 'slow2',
                     'backup_id': bid, 'seconds': secs},
                    {'kind': 'create_backup', 'backend': 'slow1',
                     'seconds': secs},
                    {'kind': 'create_volume', 'backend': 'slow1',
                     'seconds': secs + run.t.op}], 'inflight')
    run.wait_started(ops)
    run.progress('SIGTERM %s' % vol.name)
    run.terminate(vol)
    _replace_after_exit(run, vol)
    run.settle()
    run.extra['completions'] = sorted({
        e['op'] for e in run.events.select(ev='call', gen=vol.name)
        if e['t'] > (vol.sigterm_time() or 0)})


def s25_slow_attach(run):
    """An attach (initialize_connection, a call) whose driver first
    creates the volume's backing runs when SIGTERM comes, past the short
    create that is the drain's only new work: the draining pod must
    finish and answer it, as upstream's wait() does (review 13: a
    revision abandoned it 4 s into phase 3)."""
    vol = _start_volume(run)
    call = run.client.call('attach_volume', backend='slow1',
                           seconds=run.st.attach)
    ops = run.send([{'kind': 'create_volume', 'backend': 'slow2',
                     'seconds': run.st.create}], 'inflight')
    run.wait_started(ops)
    infra.wait_until(
        lambda: any(e.get('op') == 'initialize_connection' and
                    e.get('id') == call['rid']
                    for e in run.events.select(ev='start')),
        60, interval=0.1, what='the attach to start')
    run.progress('SIGTERM %s' % vol.name)
    run.terminate(vol)
    _replace_after_exit(run, vol)
    run.settle()
    # an unanswered call ends with rpc_response_timeout (30 s)
    deadline = time.monotonic() + 45
    rec = run.client.call('calls')[call['rid']]
    while rec['answered'] is None and time.monotonic() < deadline:
        time.sleep(0.5)
        rec = run.client.call('calls')[call['rid']]
    term = vol.sigterm_time()
    run.extra['attach'] = {
        'ok': rec['ok'], 'error': rec['error'],
        'answered_after_sigterm': (rec['answered'] - term
                                   if rec['answered'] and term else None)}


def s13_kill_mid_drain(run):
    """The kubelet's SIGKILL ends the drain: ops in flight are cut (cleaned
    once stale), and the casts that arrived during the drain must all run
    on the next pod."""
    old = _sigterm_with_ops_in_flight(run, mix(2, 2, 0, seconds=run.st.op))
    _late_arrivals(run, old, run.st.late)
    _replace_after_exit(run, old)
    run.settle(max_wait=run.t.stale_settle_max, need_workers_clean=True)
    _cleanup_timing(run, old)


def s19_short_timing(run):
    """service_down_time 8 s (report_interval 2 s), two restores of 20 s
    in flight on a draining cinder-backup, replacements started 2, 6 and
    10 s after SIGTERM: none may reset the restores."""
    _start_volume(run)
    old, bid1 = _start_backup_with_a_backup(run)
    setup = run.send([{'kind': 'create_backup', 'backend': 'slow2',
                       'seconds': 0}], 'setup')
    run.wait_done(setup, 60)
    ops = run.send([{'kind': 'restore_backup', 'backend': backend,
                     'backup_id': bid, 'seconds': run.st.restore}
                    for backend, bid in (('slow1', bid1),
                                         ('slow2', setup[0]['rid']))],
                   'inflight')
    run.wait_started(ops)
    run.progress('SIGTERM %s' % old.name)
    run.terminate(old)
    t_term = time.time()
    new = []
    for at in run.st.replacements:
        # deliberate start schedule (not a readiness wait)
        time.sleep(max(0.0, t_term + at - time.time()))
        run.progress('start a replacement +%.0fs' % at)
        new.append(run.pod(BACKUP))
    for pod in new:
        run.ready(pod)
    run.progress('wait %s exit' % old.name)
    old.wait_exit(run.t.exit_timeout)
    run.settle()


def s20_backup_workers_cleanup(run):
    """A cinder-backup with two workers is killed mid-backup; both workers
    of its replacement skip the fresh backup and re-check it: it must be
    reset exactly once when it goes stale."""
    _start_volume(run)
    run.progress('start bak-0')
    old = run.pod(BACKUP)
    run.ready(old)
    ops = run.send([{'kind': 'create_backup', 'backend': 'slow1',
                     'seconds': run.t.op * 4}], 'inflight')
    run.wait_started(ops)
    new = _kill_and_restart(run, old)
    run.settle(max_wait=run.t.stale_settle_max)
    try:
        with open(new.log_file, errors='replace') as f:
            log = f.read()
    except OSError:
        log = ''
    run.extra['cleanups'] = {
        op['rid']: log.count('Resetting backup %s to error' % op['rid'])
        for op in ops}


def s24_backup_device(run):
    """cinder-backup (backup_workers 2) gets SIGTERM while cinder-volume
    prepares the device of a backup it started; the replacement starts at
    once (four processes share the host's queues).  The volume service's
    continue_backup must reach a process that takes it: the one of the old
    pod that awaits it, or the new pod."""
    _start_volume(run)
    run.progress('start bak-0')
    old = run.pod(BACKUP)
    run.ready(old)
    ops = run.send([{'kind': 'create_backup', 'backend': 'slow1',
                     'seconds': run.t.backup_op,
                     'device_seconds': run.st.device}], 'inflight')
    run.wait_started(ops, op='get_backup_device')     # on vol-0
    run.progress('SIGTERM %s' % old.name)
    run.terminate(old)
    run.progress('start bak-1 (overlap)')
    new = run.pod(BACKUP)
    run.ready(new)
    run.progress('wait %s exit' % old.name)
    old.wait_exit(run.t.exit_timeout)
    run.settle()


def _stream(run, stop, count, rate, spec, phase):
    """Send spec(i) in phase(i) every rate seconds, count times, until
    stop is set; returns the started thread."""
    def send():
        for i in range(count):
            if stop.is_set():
                break
            run.send([spec(i)], phase(i))
            stop.wait(rate)
    th = threading.Thread(target=send, daemon=True)
    th.start()
    return th


def s21_cluster(run):
    """Two members of an active-active cluster, creates streaming in to
    the cluster, one member SIGTERMed: every create runs, on the other
    member unless the draining one had read it (arr>start: the delay)."""
    a = _start_volume(run)
    run.progress('start vol-1 (other host, same cluster)')
    b = run.pod(VOLUME, conf=run.host_conf(config.HOST + '-b'))
    run.ready(b)
    stop = threading.Event()
    th = _stream(run, stop, run.st.creates, run.st.rate,
                 lambda i: {'kind': 'create_volume',
                            'backend': config.BACKENDS[i % 2],
                            'seconds': run.t.op / 2},
                 lambda i: 'inflight' if i < 4 else 'stream')
    try:
        run.wait_started([op for op in run.ops if op['phase'] == 'inflight'
                          ][:1])
        time.sleep(run.st.rate * 4)     # a few creates in flight on a
        run.progress('SIGTERM %s' % a.name)
        run.terminate(a)
        th.join(run.st.creates * run.st.rate + 30)
    finally:
        stop.set()
    run.progress('wait %s exit' % a.name)
    a.wait_exit(run.t.exit_timeout)
    run.settle()
    rids = {op['rid'] for op in run.ops}
    run.extra['members'] = {
        gen: len({e['id'] for e in run.events.select(ev='start', gen=gen)
                  if e['id'] in rids})
        for gen in (a.name, b.name)}


def s22_scheduler(run):
    """Two cinder-schedulers, creates streaming in through the scheduler
    topic, one scheduler SIGTERMed and replaced (another host, as a
    Deployment's pods are): every create runs, none waits for the stopping
    scheduler."""
    _start_volume(run)
    scheds = []
    for k in range(2):
        host = 'drill-sched-%d' % k
        run.progress('start sch-%d' % k)
        pod = run.pod(SCHEDULER, conf=run.host_conf(host))
        run.ready(pod, host=host)
        scheds.append(pod)
    stop = threading.Event()
    th = _stream(run, stop, run.st.creates, run.st.rate,
                 lambda i: {'kind': 'schedule_volume',
                            'seconds': run.t.op / 2},
                 lambda i: 'before' if i < run.st.before else 'stream')
    old = scheds[0]
    try:
        infra.wait_until(lambda: len(run.ops) >= run.st.before, 60,
                         interval=0.05, what='the first creates sent')
        run.progress('SIGTERM %s' % old.name)
        run.terminate(old)
        host = 'drill-sched-2'
        run.progress('start sch-2 (replacement)')
        run.ready(run.pod(SCHEDULER, conf=run.host_conf(host)), host=host)
        th.join(run.st.creates * run.st.rate + 60)
    finally:
        stop.set()
    run.progress('wait %s exit' % old.name)
    old.wait_exit(run.t.exit_timeout)
    run.settle()
    # which scheduler placed each create (its debug log names the volume)
    rids = [op['rid'] for op in run.ops]
    placed = {}
    for pod in run.pods:
        if pod.binary == SCHEDULER:
            placed[pod.name] = sum(1 for rid in rids
                                   if pod.log_contains(rid))
    run.extra['scheduled_by'] = placed


def s14_chart_timeouts(run):
    """graceful_shutdown_timeout set from the grace period, as SAP's chart
    does, and ops longer than a fixed 50 s drain: all must finish."""
    old = _sigterm_with_ops_in_flight(run, mix(2, 2, 0, seconds=run.st.op))
    _replace_after_exit(run, old)
    run.settle()


QUORUM = {('oslo_messaging_rabbit', 'rabbit_quorum_queue'): 'true',
          ('oslo_messaging_rabbit', 'rabbit_transient_quorum_queue'): 'true'}


class Timed(str):
    """A cinder.conf value taken from the scenario's timing of that name."""


class QuickFull(typing.NamedTuple):
    """A duration that differs between --quick (CI) and full runs."""
    quick: float
    full: float


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Everything about one scenario, in one declaration.

    contract: what judges the patched fork (drill.model.check_contract);
    limits: its parameters.  timing: durations of this scenario only, a
    value or QuickFull(quick, full); termination_grace_period among them is the
    kubelet's SIGKILL.  conf: cinder.conf overrides, (section, option) ->
    value, or Timed(name) for one of timing.  default: in the default set
    (make test).
    """
    name: str
    func: typing.Callable
    contract: tuple = ('generic',)
    limits: dict = dataclasses.field(default_factory=dict)
    timing: dict = dataclasses.field(default_factory=dict)
    conf: dict = dataclasses.field(default_factory=dict)
    default: bool = True

    def durations(self, quick):
        return {k: (v.quick if quick else v.full)
                if isinstance(v, QuickFull) else v
                for k, v in self.timing.items()}

    def conf_overrides(self, st):
        return {k: getattr(st, v) if isinstance(v, Timed) else v
                for k, v in self.conf.items()} or None


KILL_MID_DRAIN = dict(
    # Kubernetes' default grace period is shorter than the ops in flight
    # and cinder's default graceful_shutdown_timeout; casts after SIGTERM
    contract=('killed_mid_drain', 'workers_clean'),
    timing={'termination_grace_period': 10, 'op': 20.0,
            'late': (1.0, 4.0, 7.0)})

SCENARIOS = {
    1: Scenario('in flight at SIGTERM', s1_inflight),
    2: Scenario('late arrivals', s2_late),
    3: Scenario('rolling overlap', s3_overlap),
    4: Scenario('backup', s4_backup),
    5: Scenario('signal storm', s5_storm),
    6: Scenario('crash (SIGKILL)', s6_crash, contract=('workers_clean',)),
    7: Scenario('drain timeout', s7_timeout,
                contract=('exit0', 'workers_clean', 'drain_timeout'),
                timing={'drain_timeout': 8,
                        # drain + 10 s to stop
                        'graceful_shutdown_timeout': 18,
                        'termination_grace_period': 20, 'long_op': 24.0},
                conf={config.PATCH_OPTIONS['drain_timeout']:
                      Timed('drain_timeout'),
                      ('DEFAULT', 'graceful_shutdown_timeout'):
                      Timed('graceful_shutdown_timeout')}),
    8: Scenario('faults during drain', s8_faults,
                # the ops outlast both faults and the clients' reconnect
                # backoff (outage 20 s + broker restart ~7 s + up to 3 s):
                # an op that ends while the listener still reconnects
                # delays the exit by the rest of the backoff
                # (docs/drill.md, known limits)
                timing={'db_outage': 20, 'op': QuickFull(34.0, 45.0)}),
    9: Scenario('soak', s9_soak,
                timing={'restarts': QuickFull(2, 5),
                        'rate': QuickFull(1.0, 0.7)}),
    10: Scenario('dumb-init default mode', s10_dumbinit_default,
                 default=False),
    11: Scenario('completion served', s11_volume_rollout_under_backup,
                 contract=('generic', 'completions')),
    # Scenario 4 with backup_workers = 1: cinder-backup as a single
    # process (oslo.service ServiceLauncher) instead of ProcessLauncher.
    12: Scenario('backup, single process', s4_backup,
                 conf={('DEFAULT', 'backup_workers'): '1'}),
    13: Scenario('kill mid-drain', s13_kill_mid_drain, **KILL_MID_DRAIN),
    # SAP's chart sets graceful_shutdown_timeout from the grace period;
    # ops longer than the first design's fixed 50 s drain
    14: Scenario('chart-like timeouts', s14_chart_timeouts,
                 timing={'termination_grace_period': 90,
                         'graceful_shutdown_timeout': 80, 'op': 55.0},
                 conf={('DEFAULT', 'graceful_shutdown_timeout'):
                       Timed('graceful_shutdown_timeout')}),
    # 13 and 3 on quorum queues (redelivery differs there)
    15: Scenario('kill mid-drain, quorum', s13_kill_mid_drain,
                 conf=QUORUM, **KILL_MID_DRAIN),
    16: Scenario('rolling overlap, quorum', s3_overlap, conf=QUORUM),
    # mixed versions, judged against their upstream-only baseline
    17: Scenario('first rollout (up>patched)', s17_first_rollout,
                 contract=('mixed', 'old_pod_upstream')),
    18: Scenario('rollback (patched>up)', s18_rollback, contract=('mixed',)),
    # cinder accepts any service_down_time above report_interval; restores
    # outlive it, and replacements start before and after it
    19: Scenario('short service_down_time', s19_short_timing,
                 timing={'service_down_time': 8, 'restore': 20.0,
                         'replacements': (2.0, 6.0, 10.0)},
                 conf={('DEFAULT', 'service_down_time'):
                       Timed('service_down_time')}),
    20: Scenario('backup_workers 2 cleanup', s20_backup_workers_cleanup,
                 contract=('reset_once',)),
    # creates every rate s to a two-member cluster, with the recommended
    # small prefetch
    21: Scenario('active-active cluster', s21_cluster,
                 timing={'creates': 16, 'rate': 0.5},
                 conf={('DEFAULT', 'cluster'): config.CLUSTER,
                       ('oslo_messaging_rabbit',
                        'rabbit_qos_prefetch_count'): 1}),
    # creates every rate s through two schedulers, the SIGTERM after the
    # first `before` (a scheduling takes ~50 ms)
    22: Scenario('cinder-scheduler', s22_scheduler,
                 timing={'creates': 40, 'rate': 0.1, 'before': 10}),
    # a stopped consumer holds at most one delivery per queue (2 backends),
    # and the other arrivals start without waiting for the drain
    23: Scenario('rolling overlap, prefetch 1', s23_overlap_prefetch,
                 contract=('generic', 'prefetch'),
                 limits={'max_held': 2, 'max_free_delay': 2.0},
                 conf={('oslo_messaging_rabbit',
                        'rabbit_qos_prefetch_count'): 1}),
    # the volume service prepares the backup's device this long; the
    # replacement cinder-backup is ready before it is done
    # backup_workers at most the CPU count: 2 on the CI machine
    24: Scenario('backup device, overlap', s24_backup_device,
                 timing={'device': QuickFull(12.0, 20.0)}),
    # the attach outlasts phase 3's 1 + 4 + 4 s after the create ends
    25: Scenario('slow attach at SIGTERM', s25_slow_attach,
                 contract=('generic', 'attach_answered'),
                 timing={'attach': QuickFull(14.0, 30.0), 'create': 2.0}),
}
ALL = tuple(sorted(SCENARIOS))
DEFAULT = tuple(n for n in ALL if SCENARIOS[n].default)


def run_scenario(env, n, variant):
    run = Run(env, n, variant)
    failure = None
    try:
        run.scenario.func(run)
    except infra.DrillError as exc:
        failure = str(exc)
        infra.log('s%d [%s] FAILED: %s', n, variant, exc)
    except Exception as exc:  # noqa: BLE001 - one scenario must not stop all
        failure = '%s: %s' % (type(exc).__name__, exc)
        infra.log('s%d [%s] FAILED: %s', n, variant, failure)
    return run.finish(failure)
