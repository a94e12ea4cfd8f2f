"""Fast tests of the drill's process and file helpers (no servers)."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from drill import infra
from drill import services


def test_wait_until_returns_value_and_times_out():
    assert infra.wait_until(lambda: 42, 1) == 42
    t = time.monotonic()
    with pytest.raises(infra.DrillError, match='timeout.*thing'):
        infra.wait_until(lambda: False, 0.3, interval=0.05, what='thing')
    assert time.monotonic() - t < 2


def test_wait_until_reports_last_exception():
    def boom():
        raise ValueError('nope')
    with pytest.raises(infra.DrillError, match='nope'):
        infra.wait_until(boom, 0.2, interval=0.05)


def test_registry_stops_by_pid():
    reg = infra.ProcessRegistry()
    p = reg.add(subprocess.Popen([sys.executable, '-c',
                                  'import time; time.sleep(60)']), 'sleeper')
    called = []
    q = reg.add(subprocess.Popen([sys.executable, '-c',
                                  'import time; time.sleep(60)']), 'custom',
                stopper=lambda proc: (called.append(proc.pid),
                                      proc.kill(), proc.wait()))
    reg.stop_all(timeout=5)
    assert p.poll() is not None and q.poll() is not None
    assert called == [q.pid]
    reg.stop_all()   # idempotent


def test_events_reader_keeps_partial_lines(tmp_path):
    path = tmp_path / 'ev.jsonl'
    ev = services.Events(str(path))
    assert ev.poll() == []
    with open(path, 'w') as f:
        f.write(json.dumps({'ev': 'start', 'id': 'a', 'gen': 'vol-0'}) +
                '\n{"ev": "end", "id"')
    assert len(ev.poll()) == 1
    with open(path, 'a') as f:
        f.write(': "a", "gen": "vol-0"}\n')
    assert [r['ev'] for r in ev.poll()] == ['start', 'end']
    assert len(ev.select(gen='vol-0', ev='end')) == 1


def test_fake_sudo_drops_rootwrap(tmp_path):
    bindir = services.make_bindir(str(tmp_path / 'bin'))
    out = subprocess.run(
        [os.path.join(bindir, 'sudo'), '-E', 'cinder-rootwrap',
         '/etc/x.conf', 'echo', 'hi there'], stdout=subprocess.PIPE,
        text=True, check=True).stdout
    assert out == 'hi there\n'
    out = subprocess.run([os.path.join(bindir, 'sudo'), 'echo', 'plain'],
                         stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    assert out == 'plain\n'


def test_venv_env_paths(tmp_path):
    env = services.venv_env('/v', {'X': '1'}, bindir='/b')
    assert env['PATH'].startswith('/b' + os.pathsep + '/v/bin')
    root = os.path.dirname(os.path.dirname(os.path.abspath(
        services.__file__)))
    assert env['PYTHONPATH'].split(os.pathsep)[0] == root
    assert env['X'] == '1'


def test_pod_pids_by_token(tmp_path):
    pod = services.Pod('vol-9', 'cinder-volume', '/v', 'c', str(tmp_path),
                       str(tmp_path / 'e'))
    env = dict(os.environ, DRILL_POD_TOKEN=pod.token)
    p = subprocess.Popen([sys.executable, '-c',
                          'import time; time.sleep(60)'], env=env)
    try:
        infra.wait_until(lambda: p.pid in pod.pids(), 5)
        assert pod.kill_pids() >= 1
        assert p.wait(5) == -9
    finally:
        if p.poll() is None:
            p.kill()


def test_events_reader_is_thread_safe(tmp_path):
    import threading
    path = tmp_path / 'ev.jsonl'
    path.write_text('')
    ev = services.Events(str(path))
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            ev.poll()
    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        with open(path, 'a') as f:
            for i in range(2000):
                f.write(json.dumps({'ev': 'start', 'id': str(i)}) + '\n')
                f.flush()
    finally:
        stop.set()
        for t in threads:
            t.join()
    ids = [r['id'] for r in ev.poll()]
    assert ids == [str(i) for i in range(2000)]


def _fake_service(tmp_path, ignore_sigterm):
    """A venv whose cinder-volume runs under dumb-init like a pod."""
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    prog = venv / 'bin' / 'cinder-volume'
    prog.write_text(
        '#!%s\nimport signal, time\n%s\n'
        'open(%r, "w").close()\ntime.sleep(60)\n' % (
            sys.executable,
            'signal.signal(signal.SIGTERM, signal.SIG_IGN)'
            if ignore_sigterm else '',
            str(tmp_path / 'up')))
    prog.chmod(0o755)
    pod = services.Pod('vol-0', 'cinder-volume', str(venv), 'c.conf',
                       str(tmp_path), str(tmp_path / 'e'), grace_period=1.0)
    pod.start()
    infra.wait_until(lambda: (tmp_path / 'up').exists(), 10)
    return pod


@pytest.fixture
def dumb_init():
    """dumb-init from Debian, installed as the drill installs it.

    Without root on a machine that lacks it the test fails, saying so.
    """
    infra.ensure_packages('pods')
    assert shutil.which('dumb-init'), 'dumb-init not on PATH after install'


def test_pod_killed_at_termination_grace_period(tmp_path, dumb_init):
    pod = _fake_service(tmp_path, ignore_sigterm=True)
    pod.signal(signal.SIGTERM)
    assert pod.wait_exit(10) == 137
    s = pod.summary()
    assert s['grace_killed'] is not None
    assert s['grace_killed'] - s['sigterm'] >= 1.0
    assert [name for _, name in s['signals']] == ['SIGTERM', 'SIGKILL']
    assert pod.pids() == []


def test_pod_exiting_in_time_is_not_killed(tmp_path, dumb_init):
    pod = _fake_service(tmp_path, ignore_sigterm=False)
    pod.signal(signal.SIGTERM)
    assert pod.wait_exit(10) == 143
    # the watch ends with the pod, it does not fire later
    pod._grace_thread.join(5)
    assert not pod._grace_thread.is_alive()
    assert pod.summary()['grace_killed'] is None
    assert [name for _, name in pod.signals] == ['SIGTERM']


def test_ensure_packages_without_root_says_what_is_missing(monkeypatch):
    """The profile's packages from bindep.txt, with forktool's installer."""
    from forktool import env as forktool_env
    asked, installs = [], []
    monkeypatch.setattr(forktool_env, 'bindep_missing',
                        lambda where, tools, profile: asked.append(
                            (where, profile)) or ['dumb-init'])
    monkeypatch.setattr(os, 'geteuid', lambda: 1000)
    monkeypatch.setattr(forktool_env, 'run',
                        lambda cmd, **kw: installs.append(cmd))
    with pytest.raises(infra.DrillError,
                       match='profile pods: .*needs root: dumb-init'):
        infra.ensure_packages('pods')
    assert installs == []
    assert asked == [(pathlib.Path(infra.ROOT), 'pods')]
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    infra.ensure_packages('pods')
    assert installs[-1][-1:] == ['dumb-init']
    assert '--no-install-recommends' in installs[-1]


def test_bindep_profiles_list_the_drills_packages():
    """bindep.txt is where the Debian packages are named."""
    text = (pathlib.Path(infra.ROOT) / 'bindep.txt').read_text()
    for pkg in ('mariadb-server', 'rabbitmq-server', 'dumb-init'):
        assert any(line.startswith(pkg + ' [') and 'drill' in line
                   for line in text.splitlines()), pkg
