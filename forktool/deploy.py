"""check-deploy: does a manifest + cinder.conf keep the shutdown's chain?

longest operation < graceful_shutdown_drain_timeout;
drain + phase 3 < graceful_shutdown_timeout < terminationGracePeriodSeconds;
cinder-volume / cinder-backup run under `dumb-init --single-child`; `host`
is set (else each pod has its own queues and a replacement never takes
over the draining pod's work).  The derivations are those of
cinder.graceful_shutdown.drain (checked against it by the tests).
"""

import configparser
import pathlib

from forktool import ForkError

LONGEST = "graceful-shutdown.cinder.openstack.org/longest-operation-seconds"
SERVICES = ("cinder-volume", "cinder-backup")
# drain.PHASE3_RESERVE, and what phase 3 takes at most: ops.CLOSE_GRACE
# plus two drain.PHASE3_STEP_TIMEOUT steps.
PHASE3_RESERVE = 10
PHASE3_MAX = 1 + 4 + 4
# oslo.service's default graceful_shutdown_timeout, Kubernetes' default
# terminationGracePeriodSeconds.
OSLO_DEFAULT_TIMEOUT = 60
K8S_DEFAULT_GRACE = 30
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


def drain_timeout(oslo_timeout: int, configured: int | None) -> int | None:
    """The effective drain timeout (None: no limit), as drain.py has it."""
    if configured is None:
        if not oslo_timeout:
            return None
        configured = oslo_timeout - min(PHASE3_RESERVE, oslo_timeout // 4)
    return configured or None


def _int(conf, section, key, default):
    raw = conf.get(section, key, fallback=None)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ForkError(f"[{section}] {key} = {raw!r} is not a number")


def _read_conf(path: pathlib.Path) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with open(path) as f:
            conf.read_file(f)
    except (OSError, configparser.Error) as e:
        raise ForkError(f"cannot read {path}: {e}")
    return conf


def _workloads(path: pathlib.Path):
    # PyYAML is in the tools' venv (check-deploy runs there), not needed by
    # the other commands.
    import yaml
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except (OSError, yaml.YAMLError) as e:
        raise ForkError(f"cannot read {path}: {e}")
    found = [d for d in docs if isinstance(d, dict)
             and d.get("kind") in WORKLOADS]
    if not found:
        raise ForkError(f"{path} has no {'/'.join(WORKLOADS)}")
    return found


def _service_of(container) -> tuple[str | None, list, list]:
    """(service, argv, what runs before it) of a container."""
    argv = [str(a) for a in (container.get("command") or []) +
            (container.get("args") or [])]
    for i, arg in enumerate(argv):
        if arg.rsplit("/", 1)[-1] in SERVICES:
            return arg.rsplit("/", 1)[-1], argv, argv[:i]
    return None, argv, []


def _hosts(conf) -> list[str]:
    """Why host is unset, per service process (empty: it is set)."""
    if conf.get("DEFAULT", "host", fallback="").strip():
        return []
    backends = [b.strip() for b in conf.get(
        "DEFAULT", "enabled_backends", fallback="").split(",") if b.strip()]
    if backends and all(conf.get(b, "backend_host", fallback="").strip()
                        for b in backends):
        return []
    return ["host is unset ([DEFAULT] host, or backend_host in every "
            "enabled backend): each pod would serve its own queues, named "
            "after its hostname, and a replacement would never take over"]


def check(manifest, conf_path, longest=None) -> str:
    manifest, conf_path = pathlib.Path(manifest), pathlib.Path(conf_path)
    conf = _read_conf(conf_path)
    oslo = _int(conf, "DEFAULT", "graceful_shutdown_timeout",
                OSLO_DEFAULT_TIMEOUT)
    drain = drain_timeout(oslo, _int(conf, "DEFAULT",
                                     "graceful_shutdown_drain_timeout",
                                     None))
    problems = list(_hosts(conf))
    lines = []
    for workload in _workloads(manifest):
        name = workload.get("metadata", {}).get("name", "?")
        pod = workload.get("spec", {}).get("template", {}).get("spec", {})
        grace = pod.get("terminationGracePeriodSeconds", K8S_DEFAULT_GRACE)
        annotations = workload.get("metadata", {}).get("annotations") or {}
        op = longest if longest is not None else annotations.get(LONGEST)
        where = f"{workload['kind']} {name}"
        services = []
        for container in pod.get("containers") or []:
            service, argv, head = _service_of(container)
            if service is None:
                continue
            services.append(service)
            if not head or head[0].rsplit("/", 1)[-1] != "dumb-init":
                problems.append(f"{where}: {service} does not run under "
                                "dumb-init (command: " + " ".join(argv) +
                                ")")
            elif "--single-child" not in head and "-c" not in head:
                problems.append(f"{where}: dumb-init without "
                                f"--single-child: every process of "
                                f"{service} gets SIGTERM at once")
        if not services:
            continue
        if op is None:
            problems.append(f"{where}: no longest operation (annotation "
                            f"{LONGEST}, or --longest-op)")
        elif drain is not None and int(op) >= drain:
            problems.append(f"{where}: the longest operation ({op} s) does "
                            f"not fit the drain "
                            f"(graceful_shutdown_drain_timeout {drain} s)")
        limit = oslo or (drain + PHASE3_MAX if drain is not None else None)
        if limit is None or limit >= grace:
            problems.append(
                f"{where}: graceful_shutdown_timeout "
                f"({oslo or 'unlimited'}) is not below "
                f"terminationGracePeriodSeconds ({grace} s): the kubelet "
                f"kills the pod first")
        lines.append(f"{where} ({', '.join(services)}): longest operation "
                     f"{op} s < drain {drain or 'unlimited'} s, + phase 3 "
                     f"{PHASE3_MAX} s < graceful_shutdown_timeout "
                     f"{oslo or 'unlimited'} s < "
                     f"terminationGracePeriodSeconds {grace} s")
    if oslo and drain is None:
        problems.append(f"graceful_shutdown_drain_timeout = 0 (no limit) "
                        f"but graceful_shutdown_timeout kills the children "
                        f"after {oslo} s")
    elif drain is not None and oslo and drain + PHASE3_MAX >= oslo:
        problems.append(f"drain ({drain} s) + phase 3 (up to {PHASE3_MAX} "
                        f"s) reaches graceful_shutdown_timeout ({oslo} s)")
    if not lines:
        raise ForkError(f"{manifest} runs neither {' nor '.join(SERVICES)}")
    if problems:
        raise ForkError(f"{manifest} + {conf_path}: the shutdown chain "
                        "breaks:\n  - " + "\n  - ".join(problems))
    return "check-deploy: OK\n" + "\n".join(lines)
