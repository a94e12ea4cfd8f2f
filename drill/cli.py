"""python -m drill run --patched-venv DIR --upstream-venv DIR ..."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

from drill import config
from drill import infra
from drill import model
from drill import scenarios
from drill.services import venv_env
from forktool import layout as forktool_layout

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The series under test: its venvs are forktool's (make test passes them
# explicitly).
DEFAULT_SERIES = os.environ.get('DRILL_SERIES', '2025.1')


def venvs_of(series):
    """(patched, upstream) venvs forktool builds for a pinned series."""
    lay = forktool_layout.load(ROOT, series)
    return str(lay.venv), str(lay.upstream_venv)


DEFAULT_PATCHED, DEFAULT_UPSTREAM = venvs_of(DEFAULT_SERIES)
VARIANTS = ('patched', 'upstream')


def parse_scenarios(text):
    if not text or text == 'default':
        return list(scenarios.DEFAULT)
    if text == 'all':
        return list(scenarios.ALL)
    out = []
    for part in text.split(','):
        part = part.strip()
        if '-' in part:
            a, b = part.split('-', 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    bad = [n for n in out if n not in scenarios.SCENARIOS]
    if bad:
        raise argparse.ArgumentTypeError('unknown scenarios: %s' % bad)
    return sorted(set(out))


def build_parser():
    p = argparse.ArgumentParser(prog='python -m drill')
    sub = p.add_subparsers(dest='command', required=True)
    r = sub.add_parser('run', help='run the rolling-update drill')
    r.add_argument('--patched-venv', default=DEFAULT_PATCHED)
    r.add_argument('--upstream-venv', default=DEFAULT_UPSTREAM)
    r.add_argument('--variants', default='patched,upstream',
                   help='comma list out of patched,upstream')
    extra = ', '.join('%d (%s)' % (n, sc.name)
                      for n, sc in sorted(scenarios.SCENARIOS.items())
                      if not sc.default)
    r.add_argument('--scenarios', default='default', type=parse_scenarios,
                   help='e.g. 1,2,5-7; "default" = every scenario but '
                        '%s; "all" adds them' % extra)
    r.add_argument('--quick', action='store_true',
                   help='short durations (CI): whole drill <= 25 min')
    r.add_argument('--out', default=os.path.join(ROOT, 'build', 'drill'))
    r.add_argument('--keep', action='store_true',
                   help='keep the temp dir (logs, state) at the end')
    r.add_argument('--no-png', action='store_true')
    r.add_argument('--strict', action='store_true',
                   help='exit 1 if the patched fork violates a contract')
    t = sub.add_parser('table', help='print the table of a results JSON')
    t.add_argument('json')
    t.add_argument('--png', help='also render this timeline PNG')
    return p


def db_sync(env, variant):
    name = 'drill_tpl_%s' % variant
    env.db.create_db(name)
    tmp = os.path.join(env.workdir, variant)
    os.makedirs(tmp, exist_ok=True)
    conf = config.cinder_conf(
        os.path.join(tmp, 'sync.conf'), state_dir=tmp,
        db_url=env.db.url(name), transport_url=env.rabbit.url(''),
        timing=env.timing)
    venv = env.venvs[variant]
    infra.log('cinder-manage db sync (%s)', variant)
    r = subprocess.run(
        [os.path.join(venv, 'bin', 'cinder-manage'), '--config-file', conf,
         'db', 'sync'], env=venv_env(venv), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=600)
    if r.returncode:
        raise infra.DrillError('db sync (%s) failed:\n%s' % (
            variant, r.stdout[-3000:]))
    env.templates[variant] = name


def write_outputs(results, meta, out, png=True):
    os.makedirs(out, exist_ok=True)
    jpath = os.path.join(out, 'drill-results.json')
    with open(jpath + '.tmp', 'w') as f:
        json.dump(model.json_report(results, meta), f, indent=1,
                  default=str)
    os.replace(jpath + '.tmp', jpath)
    ppath = None
    if png and results:
        from drill import timeline
        ppath = os.path.join(out, 'drill-timeline.png')
        try:
            timeline.render(results, ppath, meta.get('variants', VARIANTS))
        except Exception as exc:  # noqa: BLE001 - the table still counts
            infra.log('timeline PNG failed: %s', exc)
            ppath = None
    return jpath, ppath


def run(args):
    variants = [v.strip() for v in args.variants.split(',') if v.strip()]
    venvs = {'patched': os.path.abspath(args.patched_venv),
             'upstream': os.path.abspath(args.upstream_venv)}
    for v in variants:
        if v not in venvs:
            raise SystemExit('unknown variant %s' % v)
        if not os.path.exists(os.path.join(venvs[v], 'bin', 'cinder-volume')):
            raise SystemExit('%s venv %s has no cinder-volume' % (
                v, venvs[v]))
    timing = config.Timing(quick=args.quick)
    infra.REGISTRY.install_handlers()
    infra.ensure_packages()
    workdir = tempfile.mkdtemp(prefix='cinder-drill-')
    infra.log('temp dir %s', workdir)
    t_start = time.time()
    results = []
    meta = {'started': t_start, 'quick': args.quick, 'variants': variants,
            'venvs': {v: venvs[v] for v in variants},
            'scenarios': args.scenarios, 'timing': timing.as_dict(),
            'patch_options': {k: list(v) for k, v in
                              config.PATCH_OPTIONS.items()},
            'workdir': workdir}
    db = infra.MariaDB(workdir)
    rabbit = infra.RabbitMQ(workdir)
    try:
        infra.log('starting MariaDB and RabbitMQ on 127.0.0.1')
        db.init()
        db.start()
        db.setup_user()
        rabbit.start()
        # mixed-versions scenarios use both venvs
        env = scenarios.Env(workdir, timing, db, rabbit,
                            {v: venvs[v] for v in variants})
        for v in variants:
            db_sync(env, v)
        for n in args.scenarios:
            # mixed versions: the upstream baseline first
            mixed = 'mixed' in scenarios.SCENARIOS[n].contract
            order = (sorted(variants, key=lambda v: v != 'upstream')
                     if mixed else variants)
            for v in order:
                res = scenarios.run_scenario(env, n, v)
                if mixed and v == 'patched':
                    model.with_baseline(res, next(
                        (r for r in results if r['scenario'] == n and
                         r['variant'] == 'upstream'), None))
                results.append(res)
                c = res['counts']
                infra.log('s%d [%s] done %d stuck %d error %d lost %d rc %s '
                          'TERM>exit %s lastop>exit %s%s', n, v, c['done'],
                          c['stuck'], c['error'], c['lost'],
                          res['exit_codes'],
                          model._fmt_s(res['sigterm_to_exit']),
                          model._fmt_s(res['last_op_to_exit']),
                          (' VIOLATIONS: %s' % res['violations'])
                          if res.get('violations') else '')
                write_outputs(results, meta, args.out, png=False)
    except KeyboardInterrupt:
        infra.log('interrupted')
        meta['interrupted'] = True
    finally:
        infra.REGISTRY.stop_all()
        meta['duration'] = time.time() - t_start
        jpath, ppath = write_outputs(results, meta, args.out,
                                     png=not args.no_png)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(model.render_table(results, variants))
    print(textwrap.fill(model.LEGEND, 100))
    print('JSON: %s' % jpath)
    if ppath:
        print('PNG:  %s' % ppath)
    print('total %.0fs' % meta['duration'])
    bad = [r for r in results if r.get('violations')]
    for r in bad:
        print('s%d patched: %s' % (r['scenario'], '; '.join(r['violations'])))
    if meta.get('interrupted'):
        return 130
    return 1 if (bad and args.strict) else 0


def table(args):
    with open(args.json) as f:
        doc = json.load(f)
    variants = doc['meta'].get('variants', VARIANTS)
    print(model.render_table(doc['results'], variants))
    print(textwrap.fill(model.LEGEND, 100))
    if args.png:
        from drill import timeline
        timeline.render(doc['results'], args.png, variants)
        print('PNG: %s' % args.png)
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == 'run':
        return run(args)
    return table(args)


if __name__ == '__main__':
    sys.exit(main())
