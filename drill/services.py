"""Pods of the drill: cinder services under dumb-init, and the client."""
import json
import os
import signal
import subprocess
import threading
import time
import uuid

from drill import infra


FAKE_SUDO = '''#!/bin/sh
# drill: pods run as root; cinder/os-brick/privsep call "sudo cinder-rootwrap
# CONF cmd..." (root_helper): drop sudo's options and the rootwrap wrapper.
while [ $# -gt 0 ]; do
  case "$1" in -*) shift ;; *) break ;; esac
done
if [ "$(basename "$1")" = "cinder-rootwrap" ]; then shift 2; fi
exec "$@"
'''


def make_bindir(path):
    """Directory with the fake sudo, prepended to the pods' PATH."""
    os.makedirs(path, exist_ok=True)
    sudo = os.path.join(path, 'sudo')
    with open(sudo, 'w') as f:
        f.write(FAKE_SUDO)
    os.chmod(sudo, 0o755)
    return path


def venv_env(venv, extra=None, bindir=None):
    env = dict(os.environ)
    env['PATH'] = os.path.join(venv, 'bin') + os.pathsep + env.get('PATH', '')
    if bindir:
        env['PATH'] = bindir + os.pathsep + env['PATH']
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env['PYTHONPATH'] = root + (os.pathsep + env['PYTHONPATH']
                                if env.get('PYTHONPATH') else '')
    env['VIRTUAL_ENV'] = venv
    env.pop('PYTHONHOME', None)
    if extra:
        env.update(extra)
    return env


class Events:
    """Reader of the drivers' event log (JSON lines)."""

    def __init__(self, path):
        self.path = path
        self._pos = 0
        self.records = []
        self._lock = threading.Lock()   # the poller thread reads too

    def poll(self):
        with self._lock:
            if not os.path.exists(self.path):
                return list(self.records)
            with open(self.path, 'rb') as f:
                f.seek(self._pos)
                data = f.read()
            # keep an incomplete last line for the next poll
            end = data.rfind(b'\n') + 1
            self._pos += end
            for line in data[:end].splitlines():
                if line.strip():
                    self.records.append(json.loads(line))
            return list(self.records)

    def select(self, **kw):
        return [r for r in self.poll()
                if all(r.get(k) == v for k, v in kw.items())]


class Pod:
    """One generation of a service: ``dumb-init --single-child BINARY``."""

    def __init__(self, name, binary, venv, conf, workdir, events_path,
                 single_child=True, bindir=None, grace_period=None):
        self.bindir = bindir
        # terminationGracePeriodSeconds: the kubelet SIGKILLs the pod this
        # long after the first SIGTERM if it is still running.
        self.grace_period = grace_period
        self.grace_killed = None
        self._grace_thread = None
        self.name, self.binary, self.venv = name, binary, venv
        self.conf, self.workdir = conf, workdir
        self.events_path = events_path
        self.single_child = single_child
        self.proc = None
        self.start_time = None
        self.ready_time = None
        self.exit_time = None
        self.returncode = None
        self.signals = []          # [(time, signame)]
        self.log_file = os.path.join(workdir, '%s.log' % name)
        self.token = uuid.uuid4().hex
        self.left_over = 0
        self._done = threading.Event()

    def start(self):
        cmd = ['dumb-init']
        if self.single_child:
            cmd.append('--single-child')
        cmd += [os.path.join(self.venv, 'bin', self.binary),
                '--config-file', self.conf, '--log-file', self.log_file]
        env = venv_env(self.venv, {'DRILL_GEN': self.name,
                                   'DRILL_EVENTS': self.events_path,
                                   'DRILL_POD_TOKEN': self.token},
                       bindir=self.bindir)
        out = open(os.path.join(self.workdir, '%s.out' % self.name), 'ab')
        self.start_time = time.time()
        # own session: terminal signals (Ctrl-C) do not reach the pod; the
        # drill signals it by PID like the kubelet signals PID 1.
        self.proc = infra.REGISTRY.add(subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=self.workdir), self.name,
            stopper=self._stop_registered)
        threading.Thread(target=self._waiter, daemon=True).start()
        return self

    def _waiter(self):
        rc = self.proc.wait()
        self.exit_time = time.time()
        # as a container runtime reports it: killed by signal N -> 128 + N
        self.returncode = 128 - rc if rc < 0 else rc
        # PID 1 of the pod has exited: the kernel SIGKILLs what is left in
        # the pod's PID namespace (orphaned workers, a privsep daemon).
        self.left_over = self.kill_pids()
        infra.REGISTRY.remove(self.proc)
        self._done.set()

    @property
    def running(self):
        return self.proc is not None and not self._done.is_set()

    def signal(self, signo):
        self.signals.append((time.time(), signal.Signals(signo).name))
        if self.running:
            os.kill(self.proc.pid, signo)
            if (signo == signal.SIGTERM and self.grace_period is not None
                    and self._grace_thread is None):
                self._grace_thread = threading.Thread(
                    target=self._grace_period_watch, daemon=True)
                self._grace_thread.start()

    def _grace_period_watch(self):
        if not self._done.wait(self.grace_period):
            self.grace_killed = time.time()
            infra.log('%s still running %ss after SIGTERM: SIGKILL '
                      '(terminationGracePeriodSeconds)', self.name,
                      self.grace_period)
            self.kill_all()

    def kill_all(self):
        """SIGKILL every process of the pod (what the kubelet does)."""
        self.signals.append((time.time(), 'SIGKILL'))
        self.kill_pids()

    def kill_pids(self):
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(pids)

    def _stop_registered(self, proc):
        infra.stop_process(proc, self.name, signal.SIGTERM, 10)
        self.kill_pids()

    def wait_exit(self, timeout):
        if not self._done.wait(timeout):
            raise infra.DrillError('%s did not exit within %ss' % (
                self.name, timeout))
        return self.returncode

    def sigterm_time(self):
        """First SIGTERM (or, for a crash, the SIGKILL) sent to the pod."""
        for wanted in ('SIGTERM', 'SIGKILL'):
            for t, name in self.signals:
                if name == wanted:
                    return t
        return None

    def wait_ready(self, events, n_ready, timeout, kind='ready'):
        """Wait for ``n_ready`` distinct processes/backends of this pod to
        report ``kind`` events."""
        def check():
            if not self.running:
                raise infra.DrillError('%s exited early rc=%s, see %s' % (
                    self.name, self.returncode, self.log_file))
            seen = {(r.get('backend'), r.get('pid'))
                    for r in events.select(ev=kind, gen=self.name)}
            return len(seen) >= n_ready
        infra.wait_until(check, timeout, interval=0.2,
                         what='%s ready' % self.name)
        self.ready_time = time.time()

    def log_contains(self, text):
        try:
            with open(self.log_file, errors='replace') as f:
                return text in f.read()
        except OSError:
            return False

    def stop(self, timeout=60):
        if self.running:
            self.signal(signal.SIGTERM)
            try:
                self.wait_exit(timeout)
            except infra.DrillError:
                self.kill_all()
                self.wait_exit(10)
        return self.returncode

    def pids(self):
        """PIDs of the pod's processes: every process whose environment
        carries the pod's token (dumb-init default mode puts the service in
        a new session, and orphans are reparented: neither session nor
        parentage finds them all)."""
        token = ('DRILL_POD_TOKEN=%s' % self.token).encode()
        out = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/environ' % d, 'rb') as f:
                    if token in f.read().split(b'\0'):
                        out.append(int(d))
            except OSError:
                pass
        return out

    def summary(self):
        st = self.sigterm_time()
        return {
            'name': self.name, 'binary': self.binary,
            'start': self.start_time, 'ready': self.ready_time,
            'exit': self.exit_time, 'rc': self.returncode,
            'signals': self.signals, 'sigterm': st,
            'left_over_processes': self.left_over,
            'grace_period': self.grace_period,
            'grace_killed': self.grace_killed,
            'sigterm_to_exit': (self.exit_time - st
                                if st and self.exit_time else None),
        }


class ClientProc:
    """The drill client running in the venv under test (JSON lines)."""

    def __init__(self, venv, conf, workdir):
        self.proc = infra.REGISTRY.add(subprocess.Popen(
            [os.path.join(venv, 'bin', 'python'), '-m', 'drill.client',
             '--config-file', conf],
            env=venv_env(venv), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(workdir, 'client.err'), 'ab'),
            text=True, bufsize=1, start_new_session=True), 'drill-client')
        self._lock = threading.Lock()
        first = self.proc.stdout.readline()
        if not first:
            raise infra.DrillError('drill client failed to start, see %s' %
                                   os.path.join(workdir, 'client.err'))

    def call(self, cmd, **kw):
        with self._lock:
            kw['cmd'] = cmd
            self.proc.stdin.write(json.dumps(kw) + '\n')
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise infra.DrillError('drill client died')
        resp = json.loads(line)
        if not resp['ok']:
            raise infra.DrillError('client %s failed: %s\n%s' % (
                cmd, resp['error'], resp.get('trace', '')))
        return resp.get('result')

    def close(self):
        try:
            self.call('quit')
        except Exception:  # noqa: BLE001
            pass
        infra.REGISTRY.remove(self.proc)
        infra.stop_process(self.proc, 'drill-client', timeout=10)
