"""Timeline PNG: one panel per scenario and variant, one bar per operation."""

COLORS = {'done': '#2ca02c', 'error': '#d62728', 'stuck': '#ff7f0e',
          'lost': '#7f7f7f'}
GEN_COLORS = ['#1f77b4', '#9467bd', '#17becf', '#8c564b', '#e377c2',
              '#bcbd22']


def render(results, path, variants=('patched', 'upstream')):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    scen = sorted({r['scenario'] for r in results})
    by = {(r['scenario'], r['variant']): r for r in results}
    nrows = max(1, len(scen))
    fig, axes = plt.subplots(nrows, len(variants), squeeze=False,
                             figsize=(8 * len(variants), 2.6 * nrows + 1))
    for i, n in enumerate(scen):
        for j, v in enumerate(variants):
            ax = axes[i][j]
            r = by.get((n, v))
            if r is None:
                ax.set_axis_off()
                continue
            _panel(ax, r)
    handles = [Patch(color=c, label='op %s (sent -> final)' % k)
               for k, c in COLORS.items()]
    handles += [Patch(color=GEN_COLORS[0], label='executing in pod gen 0'),
                Patch(color=GEN_COLORS[1], label='executing in pod gen 1'),
                Line2D([], [], color='red', ls='--', label='SIGTERM/signal'),
                Line2D([], [], color='black', marker='v', ls='',
                       label='SIGKILL'),
                Line2D([], [], color='green', ls='-',
                       label='pod start (replacement)'),
                Line2D([], [], color='black', ls='-', lw=2,
                       label='pod exit'),
                Line2D([], [], color='red', marker='x', ls='',
                       label='run cut (process died)')]
    fig.legend(handles=handles, loc='upper center', ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (2.6 * nrows + 1)))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _panel(ax, r):
    t0 = r['started']
    ops = [op for op in r['ops'] if op.get('phase') != 'setup']
    gens = sorted({p['name'] for p in r['pods']})
    gcol = {g: GEN_COLORS[k % len(GEN_COLORS)] for k, g in enumerate(
        sorted(gens, key=lambda g: (g.split('-')[0], int(g.split('-')[1]))))}
    pod_exit = {p['name']: p['exit'] for p in r['pods']}
    end = max([p['exit'] or 0 for p in r['pods']] +
              [op.get('done_at') or 0 for op in ops] + [t0 + 1]) - t0
    for y, op in enumerate(ops):
        x0 = op['sent'] - t0
        x1 = (op.get('done_at') or t0 + end) - t0
        ax.barh(y, x1 - x0, left=x0, height=0.8, alpha=0.35,
                color=COLORS.get(op.get('category'), '#7f7f7f'))
        for run in op.get('runs', []):
            s = run['start'] - t0
            cut = run['end'] is None
            e = (run['end'] or pod_exit.get(run['gen']) or t0 + end) - t0
            ax.barh(y, e - s, left=s, height=0.4,
                    color=gcol.get(run['gen'], 'k'),
                    hatch='xx' if cut else None)
            if cut:   # the executing process died: the run was cut
                ax.plot([e], [y], marker='x', color='red', ms=5)
    top = max(len(ops), 1)
    short = {'create_volume': 'create', 'delete_volume': 'delete',
             'create_snapshot': 'snap', 'extend_volume': 'extend',
             'create_backup': 'backup', 'restore_backup': 'restore'}
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(['%s %s' % (short.get(op['kind'], op['kind']),
                                   op.get('phase', '')) for op in ops],
                       fontsize=5)
    for p in r['pods']:
        if p['start'] and p['name'].endswith('-0') is False:
            ax.axvline(p['start'] - t0, color='green', lw=1)
        for ts, name in p['signals']:
            if name == 'SIGKILL':
                ax.plot([ts - t0], [top], marker='v', color='black')
            else:
                ax.axvline(ts - t0, color='red', ls='--', lw=0.8)
        if p['exit']:
            ax.axvline(p['exit'] - t0, color='black', lw=2)
            ax.text(p['exit'] - t0, top - 0.5, ' %s rc=%s' % (
                p['name'], p['rc']), fontsize=6, va='top')
    for key in ('db_outage', 'rabbit_restart'):
        if r.get(key):
            a, b = r[key]
            ax.axvspan(a - t0, b - t0, color='grey', alpha=0.15)
    c = r['counts']
    ax.set_title('s%d %s [%s]  done %d stuck %d error %d lost %d' % (
        r['scenario'], r['name'], r['variant'], c['done'], c['stuck'],
        c['error'], c['lost']), fontsize=9)
    ax.set_xlabel('seconds since scenario start', fontsize=7)
    ax.tick_params(axis='x', labelsize=6)
    ax.set_ylim(-1, top + 0.5)
    ax.set_xlim(0, end + 1)
