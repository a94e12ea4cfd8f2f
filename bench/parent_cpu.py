#!/usr/bin/env python3
"""Benchmark: CPU of the ProcessLauncher parent while its child drains.

Usage: build/venv-2025.1/bin/python bench/parent_cpu.py [drain_seconds]

Runs oslo.service's ProcessLauncher (upstream) and cinder's
graceful_shutdown.launcher.ProcessLauncher (patched) side by side, at the
same time, and prints their parent CPU time and the ratio.

Runs a ProcessLauncher (oslo.service's or cinder's graceful_shutdown one)
with one child whose stop() takes drain_seconds (like a draining
cinder-volume child, it ignores further SIGTERMs), sends SIGTERM to the
parent only (dumb-init --single-child), and samples the parent's CPU time
from /proc/<pid>/stat until it exits.  graceful_shutdown_timeout is set
above the drain time so that the upstream parent is not killed by its
alarm.
"""

import os
import signal
import subprocess
import sys
import time

LAUNCHER = r'''
import eventlet
eventlet.monkey_patch()
import logging, signal, sys, os
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
from oslo_config import cfg
from oslo_service import service as oslo_service
from cinder.graceful_shutdown import launcher  # registers cinder options

mode, drain, marker = sys.argv[1], float(sys.argv[2]), sys.argv[3]
CONF = cfg.CONF
CONF([], project='measure')
CONF.register_opts(oslo_service.list_opts()[0][1])
CONF.set_override('graceful_shutdown_timeout', int(drain) + 30)

class Svc(oslo_service.ServiceBase):
    started_in = None
    def start(self):
        self.started_in = os.getpid()
        open(marker, 'w').close()
    def stop(self):
        if self.started_in == os.getpid():     # only in the child
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            eventlet.sleep(drain)
    def wait(self):
        pass
    def reset(self):
        pass

if mode == 'patched':
    parent = launcher.ProcessLauncher(CONF)
else:
    parent = oslo_service.ProcessLauncher(CONF)
parent.launch_service(Svc(), workers=1)
parent.wait()
'''


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = os.sysconf('SC_CLK_TCK')
    return (int(fields[11]) + int(fields[12])) / ticks


def measure(mode, drain):
    marker = '/tmp/measure-%s-%d' % (mode, os.getpid())
    proc = subprocess.Popen([sys.executable, '-c', LAUNCHER, mode,
                             str(drain), marker],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not os.path.exists(marker):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit('%s launcher did not start: %s' % (
                mode, proc.stdout.read().decode(errors='replace')))
        time.sleep(0.1)
    return proc, marker


def main():
    drain = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    runs = {mode: measure(mode, drain) for mode in ('upstream', 'patched')}
    time.sleep(1)   # let both children settle in their service
    state = {}
    for mode, (proc, marker) in runs.items():
        state[mode] = [cpu_seconds(proc.pid), time.monotonic(), None, None]
        os.kill(proc.pid, signal.SIGTERM)
    while any(s[3] is None for s in state.values()):
        for mode, (proc, marker) in runs.items():
            s = state[mode]
            if s[3] is not None:
                continue
            try:
                s[2] = cpu_seconds(proc.pid)
            except (FileNotFoundError, ProcessLookupError):
                pass
            if proc.poll() is not None:
                s[3] = time.monotonic() - s[1]
        time.sleep(0.2)
    print('ProcessLauncher parent during a %.0f s child drain '
          '(SIGTERM to the parent only)' % drain)
    print('%-9s %8s %14s %8s %9s' % ('launcher', 'wall s', 'parent CPU s',
                                     '% core', 'exit code'))
    cpu = {}
    for mode, (proc, marker) in runs.items():
        before, _, last, wall = state[mode]
        cpu[mode] = last - before
        os.unlink(marker)
        print('%-9s %8.1f %14.2f %8.0f %9s' % (
            mode, wall, cpu[mode], 100 * cpu[mode] / wall, proc.returncode))
    print('ratio upstream/patched parent CPU: %.0fx' % (
        cpu['upstream'] / max(cpu['patched'], 0.01)))


if __name__ == '__main__':
    main()
