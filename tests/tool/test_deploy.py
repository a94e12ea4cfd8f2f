"""deploy/: the examples pass the checks, broken ones are rejected."""

import os
import pathlib
import subprocess
import sys

import pytest

from forktool import deploy
from forktool import ForkError

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
VOLUME = DEPLOY / "kubernetes" / "cinder-volume.yaml"
BACKUP = DEPLOY / "kubernetes" / "cinder-backup.yaml"
VOLUME_CONF = DEPLOY / "cinder.conf.d" / "graceful-shutdown.conf"
BACKUP_CONF = DEPLOY / "cinder.conf.d" / "backup.conf"
BIN = pathlib.Path(sys.executable).parent


@pytest.mark.parametrize("manifest, conf", [(VOLUME, VOLUME_CONF),
                                            (BACKUP, BACKUP_CONF)])
def test_examples_keep_the_chain(manifest, conf):
    out = deploy.check(manifest, conf)
    assert out.startswith("check-deploy: OK")
    assert "drain 860 s" in out and "terminationGracePeriodSeconds 900" in out


def edited(tmp_path, path, old, new):
    text = path.read_text()
    assert old in text, old
    out = tmp_path / path.name
    out.write_text(text.replace(old, new))
    return out


@pytest.mark.parametrize("which, old, new, message", [
    # a grace period lower than the drain: the kubelet kills first
    ("manifest", "terminationGracePeriodSeconds: 900",
     "terminationGracePeriodSeconds: 600",
     "is not below terminationGracePeriodSeconds (600 s)"),
    # the chart's equality
    ("conf", "graceful_shutdown_timeout = 870",
     "graceful_shutdown_timeout = 900",
     "(900) is not below terminationGracePeriodSeconds"),
    ("manifest", "            - --single-child\n", "",
     "dumb-init without --single-child"),
    ("manifest", "            - dumb-init\n            - --single-child\n"
     "            - --\n", "", "does not run under dumb-init"),
    ("conf", "host = cinder-volume-vmware\n", "", "host is unset"),
    ("manifest", 'longest-operation-seconds: "600"',
     'longest-operation-seconds: "900"',
     "the longest operation (900 s) does not fit the drain"),
    ("conf", "#graceful_shutdown_drain_timeout =",
     "graceful_shutdown_drain_timeout = 865",
     "reaches graceful_shutdown_timeout (870 s)"),
    ("conf", "#graceful_shutdown_drain_timeout =",
     "graceful_shutdown_drain_timeout = 0", "(no limit)"),
    ("conf", "graceful_shutdown_timeout = 870",
     "graceful_shutdown_timeout = soon", "is not a number"),
])
def test_broken_examples_are_rejected(tmp_path, which, old, new, message):
    manifest, conf = VOLUME, VOLUME_CONF
    if which == "manifest":
        manifest = edited(tmp_path, VOLUME, old, new)
    else:
        conf = edited(tmp_path, VOLUME_CONF, old, new)
    with pytest.raises(ForkError) as e:
        deploy.check(manifest, conf)
    assert message in str(e.value)


def test_backend_host_in_every_backend_is_a_host(tmp_path):
    conf = edited(tmp_path, VOLUME_CONF, "host = cinder-volume-vmware\n", "")
    text = conf.read_text()
    for backend in ("vmware1", "vmware2"):
        text = text.replace(f"[{backend}]\n",
                            f"[{backend}]\nbackend_host = vmware-pool\n")
    conf.write_text(text)
    assert deploy.check(VOLUME, conf).startswith("check-deploy: OK")


def test_not_a_cinder_manifest(tmp_path):
    other = edited(tmp_path, VOLUME, "- cinder-volume\n", "- nova-compute\n")
    with pytest.raises(ForkError) as e:
        deploy.check(other, VOLUME_CONF)
    assert "runs neither cinder-volume nor cinder-backup" in str(e.value)


def test_derivation_is_cinders():
    """check-deploy derives the drain as cinder's drain.py does."""
    venv = os.environ.get("DRILL_PATCHED_VENV")
    if not venv:
        pytest.skip("needs the patched venv (make test passes it)")
    values = [(870, None), (60, None), (20, None), (0, None), (870, 0),
              (870, 100)]
    script = (
        "import sys\nfrom oslo_config import cfg\n"
        "from cinder.graceful_shutdown import drain\n"
        "from oslo_service import service\n"
        "conf = cfg.ConfigOpts()\n"
        "conf.register_opts(service.list_opts()[0][1])\n"
        "conf.register_opts(drain.drain_opts)\n"
        "conf([])\n"
        f"for oslo, mine in {values!r}:\n"
        "    conf.set_override('graceful_shutdown_timeout', oslo)\n"
        "    conf.set_override('graceful_shutdown_drain_timeout', mine)\n"
        "    print(drain.drain_timeout(conf))\n")
    out = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                          script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(deploy.drain_timeout(o, m)) for o, m in values]


def test_manifests_validate_and_lint():
    proc = subprocess.run([BIN / "kubernetes-validate", "--strict",
                           VOLUME, BACKUP], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([BIN / "yamllint", "-s", DEPLOY],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validate_rejects_an_unknown_field(tmp_path):
    bad = edited(tmp_path, VOLUME, "      maxSurge: 1\n",
                 "      maxSurge: 1\n      maxSurprise: 2\n")
    proc = subprocess.run([BIN / "kubernetes-validate", "--strict", bad],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "maxSurprise" in proc.stdout + proc.stderr
