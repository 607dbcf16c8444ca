"""What a container prints, told by its image: kube-system's components and the workloads' web servers.

An engineer reading ``kubectl logs`` (or the bot reading Cloud Logging) should
recognise the program: kube-proxy's klog lines as it syncs its caches,
fluent-bit's bracketed start-up, kube-dns and dnsmasq, the konnectivity
agent dialling the control plane, metrics-server serving on 10250, and a
workload's start-up followed by access-log lines (the kubelet's probes and
some traffic). Lines are made once, when a scenario fills the world, from the
container's start to then; each carries its stream, which Cloud Logging
names the log after. The text is deterministic (drawn from the pod's name),
so a replay reads the same lines every time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

Line = tuple[datetime, str, str]  # (when, text, stream: "stdout" or "stderr")
ACCESS_EVERY = timedelta(seconds=60)
ACCESS_WINDOW = timedelta(minutes=15)  # how far back a workload's access lines reach: enough to read, cheap to hold
PATHS = ("/", "/api/items", "/api/cart", "/static/app.js", "/api/orders", "/login")


def _pick(seed: str, choices: tuple[str, ...]) -> str:
    return choices[int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % len(choices)]


def _klog(at: datetime, where: str, text: str, level: str = "I") -> str:
    """A klog header as the Kubernetes components print it: ``I1124 08:40:09.123456       1 file.go:66] ...``."""
    return f"{level}{at:%m%d %H:%M:%S}.{at.microsecond:06d}       1 {where}] {text}"


def _steps(start: datetime, texts: list[tuple[str, str]], stream: str = "stderr", gap: float = 0.2) -> list[Line]:
    """Start-up lines a few hundred milliseconds apart, klog-headed."""
    out = []
    for index, (where, text) in enumerate(texts):
        at = start + timedelta(seconds=1 + index * gap)
        out.append((at, _klog(at, where, text), stream))
    return out


def kube_proxy(start: datetime, node_ip: str, image: str) -> list[Line]:
    version = image.rsplit(":", 1)[-1]
    return _steps(start, [
        ("server_linux.go:66", '"Using iptables proxy"'),
        ("server.go:677", f'"Successfully retrieved node IP(s)" IPs=["{node_ip}"]'),
        ("server_linux.go:170", '"Using iptables Proxier"'),
        ("server.go:865", f'"Version info" version="{version}"'),
        ("config.go:192", '"Starting service config controller"'),
        ("shared_informer.go:313", 'Waiting for caches to sync for service config'),
        ("config.go:101", '"Starting endpoint slice config controller"'),
        ("config.go:315", '"Starting node config controller"'),
        ("shared_informer.go:320", 'Caches are synced for node config'),
        ("shared_informer.go:320", 'Caches are synced for service config'),
        ("shared_informer.go:320", 'Caches are synced for endpoint slice config'),
    ])


def fluentbit(start: datetime, container: str) -> list[Line]:
    if container != "fluentbit":
        at = start + timedelta(seconds=2)
        return [(at, _klog(at, "main.go:46", "Starting fluent-bit-gke-exporter, listening on :2021"), "stderr")]
    texts = [
        "[fluent bit] version=1.8.12, commit=, pid=1",
        "[storage] version=1.1.5, type=memory+filesystem, sync=normal, checksum=disabled, max_chunks_up=128",
        "[cmetrics] version=0.2.2",
        "[input:tail:tail.0] multiline core started",
        "[output:stackdriver:stackdriver.0] metadata_server set to http://metadata.google.internal",
        "[http_server] listen iface=0.0.0.0 tcp_port=2020",
        "[sp] stream processor started",
    ]
    out = []
    for index, text in enumerate(texts):
        at = start + timedelta(seconds=1 + index * 0.1)
        kind, _, rest = text.partition("] ")
        out.append((at, f"[{at:%Y/%m/%d %H:%M:%S}] [ info] {kind}] {rest}", "stderr"))
    return out


def kube_dns(start: datetime, container: str) -> list[Line]:
    if container == "kubedns":
        return _steps(start, [
            ("dns.go:48", "version: 1.23.0-gke.9"),
            ("server.go:71", "Using configuration read from directory: /kube-dns-config with period 10s"),
            ("server.go:119", "FLAG: --domain=\"cluster.local.\""),
            ("dns.go:220", "Waiting for [endpoints services] to be initialized from apiserver..."),
            ("dns.go:227", "Initialized services and endpoints from apiserver"),
            ("server.go:137", "Starting SkyDNS server (0.0.0.0:10053)"),
            ("server.go:149", "Skydns metrics enabled (/metrics:10055)"),
        ])
    if container == "dnsmasq":
        at = start + timedelta(seconds=1)
        return [
            (at, _klog(at, "nanny.go:146", "Starting dnsmasq [-k --cache-size=1000 --no-negcache --dns-forward-max=1500 --log-facility=- --server=/cluster.local/127.0.0.1#10053]"), "stderr"),
            (at + timedelta(milliseconds=300), "dnsmasq[14]: started, version 2.90 cachesize 1000", "stderr"),
            (at + timedelta(milliseconds=310), "dnsmasq[14]: using nameserver 127.0.0.1#10053 for domain cluster.local", "stderr"),
            (at + timedelta(milliseconds=320), "dnsmasq[14]: read /etc/hosts - 7 addresses", "stderr"),
        ]
    return _steps(start, [("main.go:51", "Version v1.23.0-gke.9"), ("server.go:61", "Starting server (options {DnsMasqPort:53 DnsMasqAddr:127.0.0.1 DnsMasqPollIntervalMs:5000 Probes:[{Label:kubedns Server:127.0.0.1:10053 Name:kubernetes.default.svc.cluster.local. Interval:5s Type:33}] PrometheusAddr:0.0.0.0 PrometheusPort:10054 PrometheusPath:/metrics PrometheusNamespace:kubedns})")])


def konnectivity(start: datetime, endpoint: str, pod: str) -> list[Line]:
    server = hashlib.sha256(f"{endpoint}/{pod}".encode()).hexdigest()[:32]
    return _steps(start, [
        ("options.go:149", f'"AgentID set to {pod}"'),
        ("options.go:150", f'"ProxyServerHost set to {endpoint}"'),
        ("options.go:151", '"ProxyServerPort set to 8132"'),
        ("client.go:223", f'"Connect to server" serverID="{server}"'),
        ("clientset.go:234", f'"sync added client connecting to proxy server" serverID="{server}"'),
        ("client.go:326", f'"Start serving" serverID="{server}" agentID="{pod}"'),
    ])


def metrics_server(start: datetime, container: str, pod: str) -> list[Line]:
    if container == "metrics-server":
        return _steps(start, [
            ("serving.go:374", "Generated self-signed cert (/tmp/apiserver.crt, /tmp/apiserver.key)"),
            ("handler.go:275", "Adding GroupVersion metrics.k8s.io v1beta1 to ResourceManager"),
            ("requestheader_controller.go:169", 'Starting RequestHeaderAuthRequestController'),
            ("secure_serving.go:213", "Serving securely on [::]:10250"),
            ("shared_informer.go:320", "Caches are synced for RequestHeaderAuthRequestController"),
        ])
    return _steps(start, [
        ("pod_nanny.go:88", "Invoked by [/pod_nanny --cpu=43m --extra-cpu=0.5m --memory=55Mi --extra-memory=4Mi --threshold=5 --deployment=metrics-server-v0.7.1 --container=metrics-server --poll-period=30000 --estimator=exponential --minClusterSize=16 --use-metrics=true]"),
        ("pod_nanny.go:89", "Version: 1.8.20"),
        ("pod_nanny.go:105", f"Watching namespace: kube-system, pod: {pod}, container: metrics-server."),
        ("pod_nanny.go:106", "storage: MISSING, extra_storage: 0Gi"),
        ("pod_nanny.go:135", "cpu: 43m, extra_cpu: 0.5m, memory: 55Mi, extra_memory: 4Mi"),
    ])


def web_server(start: datetime, now: datetime, pod: str, app: str, image: str, pod_ip: str) -> list[Line]:
    """A web workload: its start-up, then the kubelet's probes and traffic, one request a minute, the last 15 minutes."""
    version = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    nginx = "nginx" in image
    if nginx:
        boot = [
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
            f"{start:%Y/%m/%d %H:%M:%S} [notice] 1#1: nginx/{version if version[:1].isdigit() else '1.27.2'}",
            f"{start:%Y/%m/%d %H:%M:%S} [notice] 1#1: start worker processes",
        ]
    else:
        boot = [f"{app} starting, version {version}", "listening on :8080"]
    out: list[Line] = [(start + timedelta(seconds=1 + i * 0.1), text, "stdout") for i, text in enumerate(boot)]
    moment = max(start + timedelta(seconds=10), now - ACCESS_WINDOW)
    peer = pod_ip.rsplit(".", 1)[0] + ".1" if pod_ip else "10.52.0.1"
    for tick in _ticks(moment, now):
        probe = int((tick - start).total_seconds() // 60) % 3 == 0
        path = "/healthz" if probe else _pick(f"{pod}/{tick.isoformat()}", PATHS)
        agent = "kube-probe/1.30" if probe else "Mozilla/5.0"
        client = peer if probe else f"10.138.0.{int(hashlib.sha256(path.encode()).hexdigest()[:2], 16) % 250 + 2}"
        size = 2 if probe else 512 + len(path) * 37
        out.append((tick, f'{client} - - [{tick:%d/%b/%Y:%H:%M:%S} +0000] "GET {path} HTTP/1.1" 200 {size} "-" "{agent}"', "stdout"))
    return out


def _ticks(start: datetime, end: datetime) -> Iterator[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += ACCESS_EVERY


def started_at(pod: dict[str, Any], container: str, fallback: datetime) -> datetime:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        running = (status.get("state") or {}).get("running") or {}
        if status.get("name") == container and running.get("startedAt"):
            return datetime.fromisoformat(running["startedAt"].replace("Z", "+00:00"))
    return fallback


def lines_for(pod: dict[str, Any], container: str, now: datetime, *, endpoint: str = "") -> list[Line]:
    """The lines ``container`` of ``pod`` has printed by ``now``, chosen by its image; none if it is not running."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") != "Running":
        return []
    image = next((c.get("image", "") for c in spec.get("containers") or () if c.get("name") == container), "")
    created = datetime.fromisoformat(meta.get("creationTimestamp", "").replace("Z", "+00:00")) if meta.get("creationTimestamp") else now
    start = started_at(pod, container, created)
    if start > now:
        return []
    name = meta["name"]
    if "kube-proxy" in image:
        return kube_proxy(start, status.get("hostIP", ""), image)
    if "fluent-bit" in image:
        return fluentbit(start, container)
    if "k8s-dns" in image:
        return kube_dns(start, container)
    if "proxy-agent" in image:
        return konnectivity(start, endpoint or "35.0.0.1", name)
    if "metrics-server" in image or "addon-resizer" in image:
        return metrics_server(start, container, name)
    app = (meta.get("labels") or {}).get("app", container)
    return web_server(start, now, name, app, image, status.get("podIP", ""))
