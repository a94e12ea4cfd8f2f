"""cinder.conf generation for the drill.

All option names of the graceful-shutdown patch live in PATCH_OPTIONS: the
patch is still being written and names may change; change them here only.
Options a cinder does not know are ignored by oslo.config, so the same file
serves the pristine upstream variant too.
"""
import configparser
import io
import os

HOST = 'drill-host'          # shared by old and new pod (Deployment style)
CLUSTER = 'drill-cluster'    # scenario 21's active-active members
BACKENDS = ('slow1', 'slow2')

# (section, option) of the patch's options, by role.
PATCH_OPTIONS = {
    'drain_timeout': ('DEFAULT', 'graceful_shutdown_drain_timeout'),
    'worker_heartbeat_interval': ('DEFAULT', 'worker_heartbeat_interval'),
}


class Timing:
    """Durations of one drill run (seconds)."""

    def __init__(self, quick=False):
        self.quick = quick
        self.op = 6.0 if quick else 12.0              # normal operation
        self.report_interval = 2
        self.service_down_time = 6
        # the patched drain bound is derived from it: 40 s resp. 110 s
        self.graceful_shutdown_timeout = 50 if quick else 120
        # terminationGracePeriodSeconds: SIGKILL after it (the kubelet)
        self.termination_grace_period = 60 if quick else 150
        # worker_heartbeat_interval: derived, service_down_time // 4 = 1 s
        self.backup_op = 8.0 if quick else 15.0
        # durations of one scenario only: drill.scenarios.SCENARIOS
        # waits
        self.ready_timeout = 120
        self.exit_timeout = 200
        self.settle_quiet = 10
        self.settle_max = 90 if quick else 150
        self.stale_settle_max = 120 if quick else 240

    def as_dict(self):
        return dict(vars(self))


def cinder_conf(path, *, state_dir, db_url, transport_url, timing,
                overrides=None):
    """Write cinder.conf; ``overrides`` = {(section, option): value}."""
    cp = configparser.RawConfigParser()
    cp.optionxform = str
    d = {
        'host': HOST,
        'enabled_backends': ','.join(BACKENDS),
        'transport_url': transport_url,
        'state_path': state_dir,
        'debug': 'true',
        'use_stderr': 'false',
        'report_interval': str(timing.report_interval),
        'service_down_time': str(timing.service_down_time),
        'periodic_interval': '60',
        'rpc_response_timeout': '30',
        'graceful_shutdown_timeout': str(timing.graceful_shutdown_timeout),
        'backup_driver': 'drill.slowdriver.SlowPosixBackupDriver',
        'backup_posix_path': os.path.join(state_dir, 'backups'),
        'backup_file_size': str(1024 * 1024),
        'backup_sha_block_size_bytes': '32768',
        'backup_compression_algorithm': 'none',
        'backup_workers': '2',
        'backup_driver_init_check_interval': '5',
        'drill_backup_seconds': str(timing.backup_op),
        'rootwrap_config': '/nonexistent/rootwrap.conf',
        'volume_usage_audit_period': 'hour',
        'enable_v3_api': 'true',
        'auth_strategy': 'noauth',
    }
    cp['DEFAULT'] = d
    cp['database'] = {'connection': db_url, 'max_retries': '-1',
                      'retry_interval': '1'}
    cp['oslo_concurrency'] = {'lock_path': os.path.join(state_dir, 'locks')}
    cp['coordination'] = {
        'backend_url': 'file://' + os.path.join(state_dir, 'coordination')}
    cp['oslo_messaging_rabbit'] = {'heartbeat_timeout_threshold': '60',
                                   'kombu_reconnect_delay': '0.5',
                                   'rabbit_retry_interval': '1',
                                   'rabbit_retry_backoff': '1',
                                   'rabbit_interval_max': '2'}
    for be in BACKENDS:
        cp[be] = {
            'volume_driver': 'drill.slowdriver.SlowDriver',
            'volume_backend_name': be,
            'drill_op_seconds': str(timing.op),
            'drill_device_dir': os.path.join(state_dir, 'devices'),
        }
    # the patch's own timeouts are left unset: derived from
    # graceful_shutdown_timeout and service_down_time, as operators get them
    for (section, opt), value in (overrides or {}).items():
        if section not in cp:
            cp[section] = {}
        cp[section][opt] = str(value)
    buf = io.StringIO()
    cp.write(buf)
    with open(path, 'w') as f:
        f.write(buf.getvalue())
    return path
