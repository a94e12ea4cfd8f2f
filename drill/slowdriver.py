"""Slow test drivers for the rolling-update drill (not in the cinder patch).

Loaded by cinder-volume / cinder-backup from this repository through
``volume_driver = drill.slowdriver.SlowDriver`` and
``backup_driver = drill.slowdriver.SlowPosixBackupDriver`` with
PYTHONPATH pointing at the repository root.

* Needs no storage: a volume is a small local file (the "device"), exported
  with protocol 'local' so that os-brick's LocalConnector attaches it for
  cinder-backup (backup create and restore work end to end).
* Every data operation takes a configurable time: the backend option
  ``drill_op_seconds`` (or env DRILL_OP_SECONDS), overridden per resource by
  the metadata key ``drill_seconds`` set by the drill client.
* Every operation appends a start and an end event (JSON line with wall
  clock time, DRILL_GEN label of the pod generation, pid, op, resource id) to
  the file named by env DRILL_EVENTS: this is how the drill knows which
  process executed what, and when.
"""
import json
import os
import time

from oslo_config import cfg
from oslo_log import log as logging

from cinder.backup.drivers import posix
from cinder.volume import driver

LOG = logging.getLogger(__name__)

slow_opts = [
    cfg.FloatOpt('drill_op_seconds', default=5.0,
                 help='Seconds each create/delete/snapshot/extend/copy '
                      'operation of the drill SlowDriver takes.'),
    cfg.StrOpt('drill_device_dir', default='$state_path/drill-devices',
               help='Directory holding the small files used as devices.'),
    cfg.IntOpt('drill_device_bytes', default=1024 * 1024,
               help='Size of the device file of each volume.'),
]
backup_opts = [
    cfg.FloatOpt('drill_backup_seconds', default=5.0,
                 help='Seconds a backup create / restore of the drill slow '
                      'backup driver takes (on top of the real copy).'),
]
CONF = cfg.CONF
CONF.register_opts(slow_opts, group='backend_defaults')
CONF.register_opts(backup_opts)


def emit(event, op, rid, **extra):
    """Append one event line to $DRILL_EVENTS (atomic O_APPEND write)."""
    path = os.environ.get('DRILL_EVENTS')
    if not path:
        return
    rec = {'t': time.time(), 'ev': event, 'op': op, 'id': rid,
           'gen': os.environ.get('DRILL_GEN', '?'), 'pid': os.getpid()}
    rec.update(extra)
    line = (json.dumps(rec) + '\n').encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _meta_seconds(obj, default, key='drill_seconds'):
    """Per-resource duration from metadata key (drill_seconds)."""
    try:
        meta = obj.metadata or {}
    except Exception:  # noqa: BLE001 - lazy-load failures: use the default
        meta = {}
    value = meta.get(key) if hasattr(meta, 'get') else None
    if value is None:
        return default
    return float(value)


class _Timed:
    def __init__(self, op, rid, seconds, backend=None):
        self.op, self.rid, self.seconds = op, rid, seconds
        self.backend = backend

    def __enter__(self):
        emit('start', self.op, self.rid, backend=self.backend,
             seconds=self.seconds)
        return self

    def __exit__(self, exc_type, exc, tb):
        emit('end', self.op, self.rid, backend=self.backend,
             ok=exc_type is None)
        return False

    def sleep(self):
        # eventlet monkey patches time.sleep in the services: this yields.
        if self.seconds > 0:
            time.sleep(self.seconds)


class SlowDriver(driver.VolumeDriver):
    """Volume driver whose operations take a configurable time."""

    VERSION = '1.0.0'
    SUPPORTS_ACTIVE_ACTIVE = True     # the drill's cluster scenario
    CI_WIKI_NAME = 'drill'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.configuration:
            self.configuration.append_config_values(slow_opts)
        self.protocol = 'local'
        self.backend_name = (self.configuration.safe_get(
            'volume_backend_name') if self.configuration else None) or 'slow'

    @staticmethod
    def get_driver_options():
        return slow_opts

    # ---- helpers
    def _seconds(self, obj=None):
        env = os.environ.get('DRILL_OP_SECONDS')
        default = float(env) if env else self.configuration.drill_op_seconds
        return _meta_seconds(obj, default) if obj is not None else default

    def _timed(self, op, obj):
        return _Timed(op, obj.id, self._seconds(obj), self.backend_name)

    def _path(self, volume):
        return os.path.join(self.configuration.drill_device_dir, volume.id)

    def _ensure_device(self, volume):
        os.makedirs(self.configuration.drill_device_dir, exist_ok=True)
        path = self._path(volume)
        if not os.path.exists(path):
            with open(path, 'wb') as f:
                f.truncate(self.configuration.drill_device_bytes)
        return path

    # ---- setup and stats
    def do_setup(self, context):
        os.makedirs(self.configuration.drill_device_dir, exist_ok=True)

    def check_for_setup_error(self):
        emit('setup', 'check_for_setup_error', None, backend=self.backend_name)

    def get_volume_stats(self, refresh=False):
        if refresh or not self._stats:
            # refresh=True happens first in init_host_with_rpc, i.e. after the
            # RPC servers started: the drill uses it as the readiness signal.
            emit('ready', 'get_volume_stats', None, backend=self.backend_name)
            self._stats = {
                'volume_backend_name': self.backend_name,
                'vendor_name': 'drill', 'driver_version': self.VERSION,
                'storage_protocol': 'local',
                'total_capacity_gb': 10000, 'free_capacity_gb': 10000,
                'reserved_percentage': 0, 'thin_provisioning_support': True,
                'multiattach': False,
            }
        return self._stats

    # ---- data operations (slow)
    def create_volume(self, volume):
        with self._timed('create_volume', volume) as t:
            t.sleep()
            self._ensure_device(volume)
        return {}

    def delete_volume(self, volume):
        with self._timed('delete_volume', volume) as t:
            t.sleep()
            try:
                os.unlink(self._path(volume))
            except FileNotFoundError:
                pass

    def create_snapshot(self, snapshot):
        with self._timed('create_snapshot', snapshot) as t:
            t.sleep()

    def delete_snapshot(self, snapshot):
        with self._timed('delete_snapshot', snapshot) as t:
            t.sleep()

    def extend_volume(self, volume, new_size):
        with self._timed('extend_volume', volume) as t:
            t.sleep()

    def create_volume_from_snapshot(self, volume, snapshot):
        with self._timed('create_volume_from_snapshot', volume) as t:
            t.sleep()
            self._ensure_device(volume)
        return {}

    def create_cloned_volume(self, volume, src_vref):
        with self._timed('create_cloned_volume', volume) as t:
            t.sleep()
            self._ensure_device(volume)
        return {}

    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        with self._timed('copy_volume_to_image', volume) as t:
            t.sleep()

    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        with self._timed('copy_image_to_volume', volume) as t:
            t.sleep()

    # ---- export / attach: quick, local file through os-brick LocalConnector
    def get_backup_device(self, context, backup):
        # the temporary snapshot or volume of a backup, made in the volume
        # service before it casts continue_backup: metadata key
        # drill_device_seconds of the backup (default 0)
        with _Timed('get_backup_device', backup.id,
                    _meta_seconds(backup, 0.0, 'drill_device_seconds'),
                    self.backend_name) as t:
            t.sleep()
            return super().get_backup_device(context, backup)

    def ensure_export(self, context, volume):
        pass

    def create_export(self, context, volume, connector):
        emit('call', 'create_export', volume.id, backend=self.backend_name)

    def remove_export(self, context, volume):
        emit('call', 'remove_export', volume.id, backend=self.backend_name)

    def create_export_snapshot(self, context, snapshot, connector):
        pass

    def remove_export_snapshot(self, context, snapshot):
        pass

    def initialize_connection(self, volume, connector, **kwargs):
        emit('call', 'initialize_connection', volume.id,
             backend=self.backend_name)
        # an attach that first creates or moves the volume's backing (the
        # VMware driver's lazy create): drill_attach_seconds
        seconds = _meta_seconds(volume, 0, 'drill_attach_seconds')
        if seconds:
            with _Timed('initialize_connection', volume.id, seconds,
                        self.backend_name) as t:
                t.sleep()
        return {'driver_volume_type': 'local',
                'data': {'device_path': self._ensure_device(volume),
                         'access_mode': 'rw'}}

    def terminate_connection(self, volume, connector, **kwargs):
        emit('call', 'terminate_connection', volume.id,
             backend=self.backend_name)

    def initialize_connection_snapshot(self, snapshot, connector, **kwargs):
        return {'driver_volume_type': 'local', 'data': {}}

    def terminate_connection_snapshot(self, snapshot, connector, **kwargs):
        pass

    def validate_connector(self, connector):
        pass

    def clone_image(self, context, volume, image_location, image_meta,
                    image_service):
        return None, False


class SlowPosixBackupDriver(posix.PosixBackupDriver):
    """Posix backup driver (local directory) that takes a configurable time.

    The delay happens after the device is attached (inside backup()/restore()
    of the backup service), so an in-flight backup or restore holds an
    attachment on cinder-volume while it runs.
    """

    def _seconds(self, backup):
        env = os.environ.get('DRILL_BACKUP_SECONDS')
        default = float(env) if env else CONF.drill_backup_seconds
        return _meta_seconds(backup, default)

    def check_for_setup_error(self):
        emit('ready', 'backup_check_for_setup_error', None)
        return super().check_for_setup_error()

    def backup(self, backup, volume_file, backup_metadata=True):
        with _Timed('backup', backup.id, self._seconds(backup)) as t:
            t.sleep()
            return super().backup(backup, volume_file, backup_metadata)

    def restore(self, backup, volume_id, volume_file, volume_is_new):
        with _Timed('restore', volume_id, self._seconds(backup)) as t:
            t.sleep()
            return super().restore(backup, volume_id, volume_file,
                                   volume_is_new)
