"""Infrastructure of the drill: process registry, MariaDB, RabbitMQ.

Everything listens on 127.0.0.1 only and keeps its state in the run's temp
directory.  Every process started here is registered in ``REGISTRY`` and
stopped by PID at the end (normal exit, exception, Ctrl-C, SIGTERM, atexit).
"""
import atexit
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

# the repository (its bindep.txt)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RABBIT_BIN = '/usr/lib/rabbitmq/bin'


class DrillError(Exception):
    pass


def log(msg, *args):
    """Progress line on the terminal (stderr, so stdout stays for tables)."""
    text = msg % args if args else msg
    sys.stderr.write('[drill %s] %s\n' % (time.strftime('%H:%M:%S'), text))
    sys.stderr.flush()


def wait_until(predicate, timeout, interval=0.1, what='condition'):
    """Poll ``predicate`` until it returns a truthy value or the deadline."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - polled, reported at end
            last_exc = exc
        if time.monotonic() >= deadline:
            raise DrillError('timeout after %.0fs waiting for %s%s' % (
                timeout, what, (': %r' % last_exc) if last_exc else ''))
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def find_bin(name):
    for d in (RABBIT_BIN, '/usr/sbin', '/usr/bin', '/sbin', '/bin'):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def ensure_packages(profile='drill'):
    """apt-get install what the repository's bindep.txt lists as missing
    for profile (drill: every server; pods: dumb-init), with forktool's
    installer (root only), from the tools venv that has bindep."""
    from forktool import env as forktool_env
    from forktool import ForkError
    bindep = os.path.join(os.path.dirname(sys.executable), 'bindep')
    if not os.access(bindep, os.X_OK):
        raise DrillError('bindep is not installed beside %s: run the drill '
                         'with build/venv-tools/bin/python (python -m '
                         'forktool tools-venv)' % sys.executable)
    try:
        missing = forktool_env.bindep_missing(
            pathlib.Path(ROOT), pathlib.Path(bindep).parent, profile)
        if missing:
            log('installing with apt-get: %s', ' '.join(missing))
            forktool_env.install_debs(missing)
    except ForkError as exc:
        raise DrillError('Debian packages of profile %s: %s' % (profile,
                                                                exc))


class ProcessRegistry:
    """Tracks every child process the drill started; stops them by PID."""

    def __init__(self):
        self._procs = []
        self._lock = threading.Lock()
        self._installed = False

    def add(self, proc, name, stop_signal=signal.SIGTERM, stopper=None):
        """Register ``proc``; ``stopper(proc)`` replaces the default stop."""
        with self._lock:
            self._procs.append((proc, name, stop_signal, stopper))
        return proc

    def remove(self, proc):
        with self._lock:
            self._procs = [p for p in self._procs if p[0] is not proc]

    def stop_all(self, timeout=15):
        # a second Ctrl-C / SIGTERM must not abort the cleanup half-way
        saved = {}
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                saved[s] = signal.signal(s, signal.SIG_IGN)
        try:
            while True:
                with self._lock:
                    if not self._procs:
                        break
                    proc, name, sig, stopper = self._procs.pop()
                try:
                    if stopper is not None:
                        stopper(proc)
                    else:
                        stop_process(proc, name, sig, timeout)
                except BaseException as exc:  # noqa: BLE001 - stop the rest
                    log('stopping %s (pid %d) failed: %r', name, proc.pid,
                        exc)
        finally:
            for s, h in saved.items():
                signal.signal(s, h)

    def install_handlers(self):
        if self._installed:
            return
        self._installed = True
        atexit.register(self.stop_all)

        def handler(signo, frame):
            log('got signal %d, stopping everything the drill started', signo)
            self.stop_all()
            raise KeyboardInterrupt()
        for s in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, handler)
        # Ctrl-C -> KeyboardInterrupt -> the callers' finally blocks, even
        # when started from a shell that ignores SIGINT for background jobs
        signal.signal(signal.SIGINT, signal.default_int_handler)


def kill_session(proc, name, sig=signal.SIGTERM, timeout=15):
    """Stop a process started with start_new_session=True and then
    SIGKILL whatever is left in its process group."""
    rc = stop_process(proc, name, sig, timeout)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return rc


def stop_process(proc, name, sig=signal.SIGTERM, timeout=15):
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log('%s (pid %d) did not stop in %ss, SIGKILL', name, proc.pid,
            timeout)
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.wait(10)


REGISTRY = ProcessRegistry()


class MariaDB:
    def __init__(self, base):
        self.base = os.path.join(base, 'mariadb')
        self.datadir = os.path.join(self.base, 'data')
        self.socket = os.path.join(self.base, 'mysqld.sock')
        self.port = free_port()
        self.proc = None
        self.user = 'cinder'
        self.password = 'drill'

    def url(self, db):
        return 'mysql+pymysql://%s:%s@127.0.0.1:%d/%s?charset=utf8' % (
            self.user, self.password, self.port, db)

    def init(self):
        os.makedirs(self.base, exist_ok=True)
        subprocess.run(
            [find_bin('mariadb-install-db'), '--no-defaults',
             '--datadir=' + self.datadir, '--user=root',
             '--auth-root-authentication-method=normal',
             '--skip-test-db'],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def start(self):
        logf = open(os.path.join(self.base, 'mysqld.log'), 'ab')
        self.proc = REGISTRY.add(subprocess.Popen(
            [find_bin('mariadbd'), '--no-defaults', '--user=root',
             '--datadir=' + self.datadir, '--socket=' + self.socket,
             '--port=%d' % self.port, '--bind-address=127.0.0.1',
             '--pid-file=' + os.path.join(self.base, 'mysqld.pid'),
             '--skip-name-resolve', '--skip-log-bin',
             '--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M',
             '--innodb-flush-log-at-trx-commit=0', '--performance-schema=OFF',
             '--max-connections=500'],
            stdout=logf, stderr=subprocess.STDOUT), 'mariadbd')
        wait_until(lambda: self.proc.poll() is None and
                   os.path.exists(self.socket) and port_open(self.port),
                   60, what='mariadb to listen')
        wait_until(lambda: self.sql('SELECT 1', check=False) == 0, 30,
                   what='mariadb to answer')

    def stop(self):
        if self.proc is not None:
            REGISTRY.remove(self.proc)
            stop_process(self.proc, 'mariadbd', timeout=30)
            self.proc = None

    def sql(self, statement, db=None, check=True):
        cmd = [find_bin('mariadb'), '--no-defaults', '-uroot',
               '--socket=' + self.socket, '-N', '-B', '-e', statement]
        if db:
            cmd.append(db)
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if check and r.returncode:
            raise DrillError('sql failed: %s: %s' % (statement, r.stderr))
        return r.stdout if check else r.returncode

    def setup_user(self):
        self.sql("CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY "
                 "'%s'; GRANT ALL ON *.* TO '%s'@'127.0.0.1'; "
                 "FLUSH PRIVILEGES;" % (self.user, self.password, self.user))

    def create_db(self, name, template=None):
        self.sql('DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s` '
                 'CHARACTER SET utf8mb4' % (name, name))
        if template:
            dump = subprocess.run(
                [find_bin('mariadb-dump'), '--no-defaults', '-uroot',
                 '--socket=' + self.socket, '--single-transaction',
                 template], check=True, stdout=subprocess.PIPE)
            subprocess.run(
                [find_bin('mariadb'), '--no-defaults', '-uroot',
                 '--socket=' + self.socket, name], input=dump.stdout,
                check=True)


class RabbitMQ:
    def __init__(self, base):
        self.base = os.path.join(base, 'rabbitmq')
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.nodename = 'drill%d@localhost' % os.getpid()
        self.proc = None
        self.epmd = None

    def env(self):
        env = dict(os.environ)
        env.update({
            'HOME': self.base,
            'RABBITMQ_MNESIA_BASE': os.path.join(self.base, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(self.base, 'log'),
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_NODENAME': self.nodename,
            'RABBITMQ_CONFIG_FILE': os.path.join(self.base, 'rabbitmq'),
            'RABBITMQ_ADVANCED_CONFIG_FILE':
                os.path.join(self.base, 'advanced.config'),
            'RABBITMQ_CONF_ENV_FILE': os.path.join(self.base, 'env.conf'),
            'RABBITMQ_ENABLED_PLUGINS_FILE':
                os.path.join(self.base, 'enabled_plugins'),
            'RABBITMQ_PID_FILE': os.path.join(self.base, 'rabbit.pid'),
            'ERL_EPMD_PORT': str(self.epmd_port),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'RABBITMQ_LOGS': os.path.join(self.base, 'log', 'rabbit.log'),
        })
        return env

    def url(self, vhost):
        return 'rabbit://guest:guest@127.0.0.1:%d/%s' % (self.port, vhost)

    def start(self):
        os.makedirs(os.path.join(self.base, 'log'), exist_ok=True)
        for name, text in (('rabbitmq.conf',
                            'listeners.tcp.default = 127.0.0.1:%d\n'
                            'loopback_users.guest = true\n'
                            'log.console = false\n' % self.port),
                           ('advanced.config', '[].\n'),
                           ('env.conf', ''),
                           ('enabled_plugins', '[].\n')):
            with open(os.path.join(self.base, name), 'w') as f:
                f.write(text)
        env = self.env()
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = REGISTRY.add(subprocess.Popen(
                [find_bin('epmd'), '-address', '127.0.0.1', '-port',
                 str(self.epmd_port)], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL), 'epmd')
            wait_until(lambda: port_open(self.epmd_port), 20,
                       what='epmd to listen')
        logf = open(os.path.join(self.base, 'server.out'), 'ab')
        # The script in RABBIT_BIN runs the node in the foreground as the
        # current user (the /usr/sbin wrapper would switch to 'rabbitmq').
        self.proc = REGISTRY.add(subprocess.Popen(
            [os.path.join(RABBIT_BIN, 'rabbitmq-server')], env=env,
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True),
            'rabbitmq-server',
            stopper=lambda p: kill_session(p, 'rabbitmq-server', timeout=30))
        wait_until(self.ready, 120, interval=0.25, what='rabbitmq AMQP')

    def ready(self):
        if self.proc.poll() is not None:
            raise DrillError('rabbitmq-server exited with %s (see %s)' % (
                self.proc.returncode, self.base))
        with socket.create_connection(('127.0.0.1', self.port), 1) as s:
            s.sendall(b'AMQP\x00\x00\x09\x01')
            s.settimeout(2)
            data = s.recv(8)
            return data[:1] == b'\x01'   # method frame: Connection.Start

    def stop(self):
        if self.proc is not None:
            REGISTRY.remove(self.proc)
            # the Erlang VM runs in its own session; stop the group leader by
            # PID, then anything left in that session (its own children).
            kill_session(self.proc, 'rabbitmq-server', timeout=30)
            self.proc = None

    def ctl(self, *args):
        r = subprocess.run(
            [os.path.join(RABBIT_BIN, 'rabbitmqctl'), '-n', self.nodename] +
            list(args), env=self.env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=120)
        if r.returncode:
            raise DrillError('rabbitmqctl %s: %s' % (' '.join(args), r.stdout))
        return r.stdout

    def add_vhost(self, vhost):
        self.ctl('add_vhost', vhost)
        self.ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*')
