"""Drill client: runs INSIDE the venv of the cinder under test.

    venv/bin/python -m drill.client --config-file cinder.conf

Reads one JSON command per line on stdin, answers one JSON line on stdout.
Operations enter through cinder's own RPC APIs (cinder.volume.rpcapi.VolumeAPI
and cinder.backup.rpcapi.BackupAPI) with DB objects prepared as cinder-api /
the scheduler would; results are read back from the database.
"""
import json
import sys
import threading
import time
import traceback

# What nova's attach sends with initialize_connection.
CONNECTOR = {'host': 'drill-client', 'ip': '127.0.0.1', 'multipath': False,
             'initiator': 'iqn.2026-12.drill:client', 'platform': 'x86_64',
             'os_type': 'linux'}


def _setup(conf_file):
    from oslo_config import cfg
    from cinder import objects
    objects.register_all()
    from cinder.common import config  # noqa: F401 - registers options
    from cinder import rpc
    # cinder-volume's own option (cinder/cmd/volume.py), read to address
    # clustered backends as cinder-api does
    cfg.CONF.register_opt(cfg.StrOpt('cluster'))
    cfg.CONF([], project='cinder', default_config_files=[conf_file])
    rpc.init(cfg.CONF)
    return cfg.CONF


class Client:
    def __init__(self, conf):
        from cinder import context
        import sqlalchemy
        self.conf = conf
        self.ctxt = context.get_admin_context()
        self.engine = sqlalchemy.create_engine(
            conf.database.connection, pool_pre_ping=True, pool_recycle=30)
        self._vapi = None
        self._bapi = None
        self._sapi = None
        self._vtype = None
        self._calls = {}

    # --- lazily built: version caps are read from the services table
    @property
    def vapi(self):
        if self._vapi is None:
            from cinder.volume import rpcapi
            self._vapi = rpcapi.VolumeAPI()
        return self._vapi

    @property
    def bapi(self):
        if self._bapi is None:
            from cinder.backup import rpcapi
            self._bapi = rpcapi.BackupAPI()
        return self._bapi

    def vtype(self):
        if self._vtype is None:
            from cinder.volume import volume_types
            self._vtype = volume_types.get_default_volume_type(self.ctxt)
        return self._vtype

    def _volume(self, backend, status, seconds=None, size=1,
                key='drill_seconds'):
        from cinder import objects
        # backend None: not scheduled yet (the scheduler sets host)
        host = cluster = None
        if backend is not None:
            host = '%s@%s#%s' % (self.conf.host, backend, backend)
            # clustered backends are addressed by their cluster
            cluster = ('%s@%s' % (self.conf.cluster, backend)
                       if self.conf.cluster else None)
        meta = {key: str(seconds)} if seconds is not None else {}
        vol = objects.Volume(
            context=self.ctxt, size=size, status=status,
            attach_status='detached', host=host, cluster_name=cluster,
            user_id='drill-user', project_id='drill-project',
            availability_zone='nova', volume_type_id=self.vtype()['id'],
            display_name='drill', metadata=meta)
        vol.create()
        return vol

    # --- commands (each returns {op list} or data)
    def create_volume(self, backend, seconds=None):
        vol = self._volume(backend, 'creating', seconds)
        sent = time.time()
        self.vapi.create_volume(self.ctxt, vol, None, None,
                                allow_reschedule=False)
        return {'kind': 'create_volume', 'rid': vol.id, 'sent': sent,
                'backend': backend}

    def schedule_volume(self, backend=None, seconds=None):
        """A create as cinder-api sends it: to cinder-scheduler, which
        picks the backend and casts to it."""
        from cinder import objects
        from cinder.scheduler import rpcapi as scheduler_rpcapi
        vol = self._volume(None, 'creating', seconds)
        vtype = objects.VolumeType.get_by_id(self.ctxt, vol.volume_type_id)
        spec = objects.RequestSpec(
            volume_id=vol.id, volume=vol, volume_type=vtype,
            volume_properties=objects.VolumeProperties(
                size=vol.size, availability_zone=vol.availability_zone,
                volume_type_id=vol.volume_type_id, status='creating',
                attach_status='detached', user_id=vol.user_id,
                project_id=vol.project_id, display_name=vol.display_name,
                metadata=vol.metadata),
            snapshot_id=None, image_id=None, source_volid=None,
            source_replicaid=None, consistencygroup_id=None, group_id=None,
            cgsnapshot_id=None, backup_id=None)
        if self._sapi is None:
            self._sapi = scheduler_rpcapi.SchedulerAPI()
        sent = time.time()
        self._sapi.create_volume(self.ctxt, vol, request_spec=spec,
                                 filter_properties={})
        return {'kind': 'schedule_volume', 'rid': vol.id, 'sent': sent,
                'backend': 'scheduler'}

    def delete_volume(self, backend, seconds=None, rid=None):
        from cinder import objects
        if rid:
            vol = objects.Volume.get_by_id(self.ctxt, rid)
        else:
            vol = self._volume(backend, 'available', seconds)
        vol.status = 'deleting'
        vol.save()
        sent = time.time()
        self.vapi.delete_volume(self.ctxt, vol)
        return {'kind': 'delete_volume', 'rid': vol.id, 'sent': sent,
                'backend': backend}

    def create_snapshot(self, backend, seconds=None):
        from cinder import objects
        vol = self._volume(backend, 'available')
        meta = {'drill_seconds': str(seconds)} if seconds is not None else {}
        snap = objects.Snapshot(
            context=self.ctxt, volume_id=vol.id, cgsnapshot_id=None,
            user_id='drill-user', project_id='drill-project',
            status='creating', progress='0%', volume_size=vol.size,
            display_name='drill', display_description='',
            volume_type_id=vol.volume_type_id, metadata=meta)
        snap.create()
        sent = time.time()
        self.vapi.create_snapshot(self.ctxt, vol, snap)
        return {'kind': 'create_snapshot', 'rid': snap.id, 'sent': sent,
                'backend': backend}

    def extend_volume(self, backend, seconds=None):
        vol = self._volume(backend, 'available', seconds)
        vol.status = 'extending'
        vol.save()
        sent = time.time()
        self.vapi.extend_volume(self.ctxt, vol, 2, [])
        return {'kind': 'extend_volume', 'rid': vol.id, 'sent': sent,
                'backend': backend}

    def _backup(self, vol, status, seconds=None, device_seconds=None):
        from cinder import objects
        meta = {'drill_seconds': str(seconds)} if seconds is not None else {}
        if device_seconds is not None:
            meta['drill_device_seconds'] = str(device_seconds)
        b = objects.Backup(
            context=self.ctxt, user_id='drill-user',
            project_id='drill-project', volume_id=vol.id, status=status,
            display_name='drill', display_description='', container=None,
            availability_zone='nova', host=self.conf.host,
            size=vol.size, object_count=0, snapshot_id=None,
            data_timestamp=None, parent_id=None, metadata=meta)
        b.create()
        return b

    def create_backup(self, backend, seconds=None, rid=None,
                      device_seconds=None):
        from cinder import objects
        if rid:
            vol = objects.Volume.get_by_id(self.ctxt, rid)
        else:
            vol = self._volume(backend, 'available')
        vol.previous_status = vol.status
        vol.status = 'backing-up'
        vol.save()
        b = self._backup(vol, 'creating', seconds, device_seconds)
        sent = time.time()
        self.bapi.create_backup(self.ctxt, b)
        return {'kind': 'create_backup', 'rid': b.id, 'sent': sent,
                'backend': backend, 'volume_id': vol.id}

    def restore_backup(self, backend, backup_id, seconds=None):
        from cinder import objects
        b = objects.Backup.get_by_id(self.ctxt, backup_id)
        vol = self._volume(backend, 'restoring-backup')
        b.status = 'restoring'
        b.restore_volume_id = vol.id
        if seconds is not None:
            b.metadata = {'drill_seconds': str(seconds)}
        b.save()
        sent = time.time()
        self.bapi.restore_backup(self.ctxt, b.host, b, vol.id, True)
        return {'kind': 'restore_backup', 'rid': vol.id, 'sent': sent,
                'backend': backend, 'backup_id': b.id}

    def attach_volume(self, backend, seconds):
        """initialize_connection, the call of nova's attach, whose driver
        run takes seconds; answered in a thread, see calls()."""
        vol = self._volume(backend, 'available', seconds,
                           key='drill_attach_seconds')
        rec = {'rid': vol.id, 'sent': time.time(), 'answered': None,
               'ok': None, 'error': None}
        self._calls[vol.id] = rec

        def _call():
            try:
                self.vapi.initialize_connection(self.ctxt, vol, CONNECTOR)
                rec['ok'] = True
            except Exception as exc:  # noqa: BLE001 - the call's outcome
                rec['ok'] = False
                rec['error'] = '%s: %s' % (type(exc).__name__, exc)
            rec['answered'] = time.time()

        threading.Thread(target=_call, daemon=True).start()
        return dict(rec)

    def calls(self):
        """The attach calls sent so far and their answers."""
        return {rid: dict(rec) for rid, rec in self._calls.items()}

    def send(self, ops):
        """Send several operations; ops = [{'kind':..,'backend':..}, ...]."""
        out = []
        for op in ops:
            kind = op.pop('kind')
            out.append(getattr(self, kind)(**op))
        return out

    def status(self, volumes=(), snapshots=(), backups=()):
        """Raw rows: {id: [status, deleted, size]} for the given ids."""
        import sqlalchemy as sa
        res = {}
        with self.engine.connect() as c:
            for table, ids in (('volumes', volumes), ('snapshots', snapshots),
                               ('backups', backups)):
                if not ids:
                    continue
                size = 'size' if table != 'snapshots' else 'volume_size'
                q = sa.text('SELECT id, status, deleted, %s FROM %s WHERE id '
                            'IN :ids' % (size, table)).bindparams(
                    sa.bindparam('ids', expanding=True))
                for row in c.execute(q, {'ids': list(ids)}):
                    res[row[0]] = [row[1], bool(row[2]), row[3]]
        return res

    def workers(self):
        import sqlalchemy as sa
        with self.engine.connect() as c:
            rows = c.execute(sa.text(
                'SELECT resource_type, resource_id, status, service_id, '
                'updated_at, deleted FROM workers WHERE deleted = 0'))
            return [[r[0], r[1], r[2], r[3], str(r[4]), bool(r[5])]
                    for r in rows]


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument('--config-file', required=True)
    args = p.parse_args(argv)
    conf = _setup(args.config_file)
    client = Client(conf)
    out = sys.stdout
    out.write(json.dumps({'ok': True, 'ready': True}) + '\n')
    out.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.pop('cmd')
            if cmd == 'quit':
                out.write(json.dumps({'ok': True}) + '\n')
                out.flush()
                break
            result = getattr(client, cmd)(**req)
            resp = {'ok': True, 'result': result}
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            resp = {'ok': False, 'error': '%s: %s' % (type(exc).__name__, exc),
                    'trace': traceback.format_exc()}
        out.write(json.dumps(resp, default=str) + '\n')
        out.flush()
    from cinder import rpc
    try:
        rpc.cleanup()
    except Exception:  # noqa: BLE001
        pass


if __name__ == '__main__':
    main()
