#!/usr/bin/env python3
"""Benchmark: single worker heartbeat task vs naive per-operation heartbeat.

Runs the real cinder DB API (patched tree,
cinder/graceful_shutdown/heartbeat.py) against a file-backed sqlite database
and compares, for 1, 100 and 1000 concurrent cleanable operations:

* single: cinder.graceful_shutdown.heartbeat.WorkHeartbeat, one greenthread
  per process that refreshes all registered workers rows with one UPDATE per
  interval.
* naive:  one greenthread per operation, each sleeping one interval and then
  issuing its own UPDATE for its row (db.worker_heartbeat with one id).

SQL statements and updated rows are counted with an SQLAlchemy
before/after_cursor_execute listener, wake-ups by instrumenting the loops
(WorkHeartbeat.wakeups and a counter in the naive loop).

Usage (from anywhere):
    make fork venv && build/venv-2025.1/bin/python bench/worker_heartbeat.py
"""

import eventlet
eventlet.monkey_patch()

import argparse  # noqa: E402
import statistics  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_utils import timeutils  # noqa: E402
import sqlalchemy  # noqa: E402

from cinder import context  # noqa: E402
from cinder import db  # noqa: E402
from cinder.db.sqlalchemy import api as sqla_api  # noqa: E402
from cinder.db.sqlalchemy import models  # noqa: E402
from cinder.graceful_shutdown import heartbeat  # noqa: E402

CONF = cfg.CONF


class StatementCounter(object):
    """Counts UPDATE workers statements, updated rows and DB time."""

    def __init__(self, engine):
        self.engine = engine
        self.reset()
        sqlalchemy.event.listen(engine, 'before_cursor_execute', self.before)
        sqlalchemy.event.listen(engine, 'after_cursor_execute', self.after)

    def reset(self):
        self.statements = 0
        self.rows = 0
        self.db_time = 0.0
        self._start = None

    def before(self, conn, cursor, statement, params, context, many):
        if statement.lstrip().upper().startswith('UPDATE WORKERS'):
            self._start = time.perf_counter()

    def after(self, conn, cursor, statement, params, context, many):
        if statement.lstrip().upper().startswith('UPDATE WORKERS'):
            self.statements += 1
            self.rows += max(cursor.rowcount, 0)
            self.db_time += time.perf_counter() - self._start


def setup_db(path, fsync):
    CONF([], project='cinder', default_config_files=[])
    CONF.set_override('connection', 'sqlite:///' + path, group='database')
    # Without fsync on every commit sqlite measures the cost of the
    # statements themselves rather than the speed of the disk.
    CONF.set_override('sqlite_synchronous', fsync, group='database')
    engine = sqla_api.get_engine()
    models.BASE.metadata.create_all(engine)
    return engine


def create_workers(ctxt, num):
    return [db.worker_create(ctxt, resource_type='Volume',
                             resource_id=str(uuid.uuid4()),
                             status='creating', service_id=None)
            for _ in range(num)]


def run_single(workers, interval, intervals):
    hb = heartbeat.WorkHeartbeat(interval=interval)
    tokens = [hb.register_worker(w) for w in workers]
    start = time.monotonic()
    eventlet.sleep(interval * (intervals + 0.5))
    hb.stop(wait=True)
    elapsed = time.monotonic() - start
    for token in tokens:
        hb.unregister(token)
    # Timer wake-ups: all wake-ups but the one caused by stop()
    return hb.wakeups - 1, elapsed


def run_naive(workers, interval, intervals):
    ctxt = context.get_admin_context()
    stop = eventlet.event.Event()
    counters = {'wakeups': 0}

    def per_operation_heartbeat(worker):
        while True:
            stop.wait(interval)
            if stop.ready():
                return
            counters['wakeups'] += 1
            db.worker_heartbeat(ctxt, [worker.id],
                                updated_at=timeutils.utcnow())

    start = time.monotonic()
    threads = [eventlet.spawn(per_operation_heartbeat, w) for w in workers]
    eventlet.sleep(interval * (intervals + 0.5))
    stop.send(True)
    for thread in threads:
        thread.wait()
    elapsed = time.monotonic() - start
    return counters['wakeups'], elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--interval', type=float, default=0.2)
    parser.add_argument('--intervals', type=int, default=5,
                        help='intervals measured per run')
    parser.add_argument('--ops', type=int, nargs='+', default=[1, 100, 1000])
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs per cell, the median is printed')
    parser.add_argument('--fsync', action='store_true',
                        help='fsync sqlite on every commit')
    args = parser.parse_args()

    tmpdir = tempfile.mkdtemp(prefix='bench-heartbeat-')
    engine = setup_db(os.path.join(tmpdir, 'cinder.sqlite'), args.fsync)
    counter = StatementCounter(engine)
    ctxt = context.get_admin_context()

    print('worker heartbeat benchmark: sqlite file DB (fsync %s), interval '
          '%.2fs, %d intervals per run, median of %d runs' %
          ('on' if args.fsync else 'off', args.interval, args.intervals,
           args.repeat))
    header = ('%6s  %-7s %12s %11s %10s %10s %12s %12s %8s' %
              ('ops', 'variant', 'stmts/intvl', 'rows/intvl', 'rows/stmt',
               'wakeups/s', 'DB ms/intvl', 'CPU ms/intvl', 'threads'))
    print(header)
    print('-' * len(header))
    results = []
    for num in args.ops:
        workers = create_workers(ctxt, num)
        for variant, runner, threads in (('single', run_single, 1),
                                         ('naive', run_naive, num)):
            runs = []
            for _ in range(args.repeat):
                counter.reset()
                cpu = time.process_time()
                wakeups, elapsed = runner(workers, args.interval,
                                          args.intervals)
                cpu = time.process_time() - cpu
                # Normalize by the intervals that actually elapsed
                intervals = elapsed / args.interval
                runs.append((counter.statements / intervals,
                             counter.rows / intervals,
                             counter.rows / max(counter.statements, 1),
                             wakeups / elapsed,
                             1000 * counter.db_time / intervals,
                             1000 * cpu / intervals))
            medians = tuple(statistics.median(col) for col in zip(*runs))
            row = (num, variant) + medians + (threads,)
            results.append(row)
            print('%6d  %-7s %12.1f %11.1f %10.1f %10.1f %12.2f %12.1f %8d'
                  % row)
        db.worker_destroy(ctxt, id=[w.id for w in workers])
    print()
    print('stmts/intvl, rows/intvl: UPDATE workers statements and rows '
          'refreshed per elapsed interval (ideal: every row once per '
          'interval;')
    print('the window is intervals + 0.5, so 1 tick per interval shows '
          'as ~0.9); rows/stmt: rows refreshed per UPDATE;')
    print('wakeups/s: heartbeat loop timer wake-ups per second (the final '
          'wake-up by stop is not counted);')
    print('DB ms/intvl: time inside cursor.execute of those UPDATEs;')
    print('CPU ms/intvl: process CPU time per interval (whole run, '
          'including SQLAlchemy/oslo.db overhead); threads: heartbeat '
          'greenthreads.')
    os.unlink(os.path.join(tmpdir, 'cinder.sqlite'))
    os.rmdir(tmpdir)
    return results


if __name__ == '__main__':
    main()
