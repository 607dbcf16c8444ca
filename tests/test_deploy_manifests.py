"""What ships: the image, the Kubernetes manifests, the Terraform example and the Slack app.

None of it can be deployed from here, so these tests check what can be
checked offline: every manifest renders and matches the Kubernetes schemas,
the RBAC stays read-only, the pod stays locked down, the Terraform keeps the
cluster regional, and the image, manifests and bot agree on ports, paths and
names.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import tomllib
import typing
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel

from bot.settings import HealthConfig, Settings, SlackConfig, load_settings
from tests.kubectl import require

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
KUSTOMIZE = DEPLOY / "kustomize"
TERRAFORM = DEPLOY / "terraform"
KUBERNETES_VERSION = "1.32"

NAMESPACE = "k8s-chatops"
SERVICE_ACCOUNT = "k8s-chatops"
LEADER_LEASE = "k8s-chatops-leader"
SLACK_SECRET = "k8s-chatops-slack"
DATABASE_SECRET = "k8s-chatops-database"  # the PostgreSQL URL, in overlays with more than one replica
UID = 10001

READ_VERBS = {"get", "list", "watch"}
ALLOWED_READS = {
    ("", "nodes"),
    ("", "pods"),
    ("", "pods/log"),
    ("", "events"),
    ("", "namespaces"),
    ("policy", "poddisruptionbudgets"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("metrics.k8s.io", "nodes"),
    ("metrics.k8s.io", "pods"),
}

KUSTOMIZATIONS = sorted(p.parent for p in KUSTOMIZE.rglob("kustomization.yaml"))


def _id(path: Path) -> str:
    return str(path.relative_to(KUSTOMIZE))


# -- helpers ---------------------------------------------------------------------------


def _kubectl() -> str:
    return require(module=False)


@cache
def _render_cached(directory: Path, kubectl: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(directory: Path) -> list[dict[str, Any]]:
    return list(_render_cached(directory, _kubectl()))


def only(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def config_text(objects: list[dict[str, Any]]) -> str:
    return only(objects, "ConfigMap", "k8s-chatops-config")["data"]["config.yaml"]


# -- every YAML file -------------------------------------------------------------------


YAML_FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def test_deploy_holds_the_expected_yaml_files() -> None:
    names = {str(p.relative_to(DEPLOY)) for p in YAML_FILES}
    for expected in (
        "kustomize/base/kustomization.yaml",
        "kustomize/base/deployment.yaml",
        "kustomize/base/secret.example.yaml",
        "kustomize/overlays/example/kustomization.yaml",
        "slack/manifest.yaml",
        "slack/manifest.http.yaml",
    ):
        assert expected in names


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses_into_mappings(path: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert documents, f"{path} holds no document"
    assert all(isinstance(doc, dict) for doc in documents)


def test_the_example_database_secret_is_a_placeholder_outside_the_kustomization() -> None:
    ha = KUSTOMIZE / "overlays" / "ha"
    listed = yaml.safe_load((ha / "kustomization.yaml").read_text())["resources"]
    assert "database-secret.example.yaml" not in listed
    secret = yaml.safe_load((ha / "database-secret.example.yaml").read_text())
    assert secret["metadata"]["name"] == DATABASE_SECRET and list(secret["stringData"]) == ["url"]
    assert secret["stringData"]["url"].startswith("postgresql://") and "REPLACE-ME" in secret["stringData"]["url"]
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


def test_the_example_secret_is_a_placeholder_outside_the_kustomization() -> None:
    base = KUSTOMIZE / "base"
    listed = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    assert "secret.example.yaml" not in listed
    secret = yaml.safe_load((base / "secret.example.yaml").read_text())
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == SLACK_SECRET
    assert set(secret["stringData"]) == {"bot-token", "app-token", "signing-secret"}
    assert all("REPLACE-ME" in value for value in secret["stringData"].values())
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


# -- rendered kustomizations -----------------------------------------------------------


def test_there_is_a_base_and_an_example_overlay() -> None:
    assert KUSTOMIZE / "base" in KUSTOMIZATIONS
    assert KUSTOMIZE / "overlays" / "example" in KUSTOMIZATIONS


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_rendered_objects_match_the_kubernetes_schemas(directory: Path) -> None:
    objects = render(directory)
    assert len(objects) >= 10
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_everything_namespaced_lives_in_the_bots_namespace(directory: Path) -> None:
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    for obj in render(directory):
        if obj["kind"] not in cluster_scoped:
            assert obj["metadata"].get("namespace") == NAMESPACE, f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_no_secret_is_rendered_or_readable(directory: Path) -> None:
    objects = render(directory)
    assert not [o for o in objects if o["kind"] == "Secret"], "Slack tokens are created out of band"
    for role in (o for o in objects if o["kind"] in {"Role", "ClusterRole"}):
        for rule in role["rules"]:
            assert "secrets" not in rule.get("resources", []), role["metadata"]["name"]
    # The only Secrets the pod touches are the Slack one and, with PostgreSQL, the database URL, through env.
    deployment = only(objects, "Deployment", "k8s-chatops")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container(deployment).get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs in ({SLACK_SECRET}, {SLACK_SECRET, DATABASE_SECRET})
    assert not [v for v in deployment["spec"]["template"]["spec"]["volumes"] if "secret" in v]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_rbac_reads_only_what_the_bot_uses_and_writes_only_its_lease(directory: Path) -> None:
    objects = render(directory)
    for role in (o for o in objects if o["kind"] in {"Role", "ClusterRole"}):
        assert "aggregationRule" not in role
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), f"wildcard in {role['metadata']['name']}"
            assert "nonResourceURLs" not in rule

    reader = only(objects, "ClusterRole", "k8s-chatops-reader")
    granted: set[tuple[str, str]] = set()
    for rule in reader["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, f"write verb in the cluster role: {rule['verbs']}"
        assert "resourceNames" not in rule
        granted |= {(group, resource) for group in rule["apiGroups"] for resource in rule["resources"]}
        if rule["resources"] == ["pods/log"]:
            assert rule["verbs"] == ["get"]
        if rule["apiGroups"] == ["metrics.k8s.io"]:
            assert rule["verbs"] == ["get", "list"], "metrics are read, never watched"
        assert "secrets" not in rule["resources"] and "configmaps" not in rule["resources"]
    assert granted == ALLOWED_READS

    roles = [o for o in objects if o["kind"] == "Role"]
    assert [r["metadata"]["name"] for r in roles] == ["k8s-chatops-leader-election"]
    for rule in roles[0]["rules"]:
        assert rule["apiGroups"] == ["coordination.k8s.io"] and rule["resources"] == ["leases"]
        if rule.get("resourceNames"):
            assert rule["resourceNames"] == [LEADER_LEASE]
            assert set(rule["verbs"]) <= {"get", "update"}
        else:
            # The authorizer cannot match a name that does not exist yet.
            assert rule["verbs"] == ["create"]
    verbs = {v for rule in roles[0]["rules"] for v in rule["verbs"]}
    assert verbs == {"create", "get", "update"}


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_roles_are_bound_to_the_bots_service_account_only(directory: Path) -> None:
    objects = render(directory)
    bindings = [o for o in objects if o["kind"] in {"RoleBinding", "ClusterRoleBinding"}]
    assert {(b["kind"], b["roleRef"]["name"]) for b in bindings} == {
        ("ClusterRoleBinding", "k8s-chatops-reader"),
        ("RoleBinding", "k8s-chatops-leader-election"),
    }
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]
    deployment = only(objects, "Deployment", "k8s-chatops")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == SERVICE_ACCOUNT


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_the_pod_runs_locked_down(directory: Path) -> None:
    pod = only(render(directory), "Deployment", "k8s-chatops")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert pod["securityContext"]["fsGroup"] == UID
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    sc = container({"spec": {"template": {"spec": pod}}})["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc.get("privileged", False) is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["capabilities"].get("add")


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_probes_ports_and_resources(directory: Path) -> None:
    objects = render(directory)
    bot = container(only(objects, "Deployment", "k8s-chatops"))
    ports = {p["name"]: p["containerPort"] for p in bot["ports"]}
    health_port = HealthConfig().port
    assert ports["health"] == health_port == 8080
    assert ports["slack-http"] == SlackConfig().http_port == 3000

    def target(probe: str) -> tuple[str, int]:
        get = bot[probe]["httpGet"]
        port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
        return get["path"], port

    assert target("livenessProbe") == ("/healthz", health_port)
    assert target("readinessProbe") == ("/readyz", health_port)
    readiness = bot["readinessProbe"]
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= 10, "a bot that lost Slack is unready within 10 s"
    if "startupProbe" in bot:
        assert target("startupProbe") == ("/healthz", health_port)

    assert bot["resources"]["requests"]["cpu"] and bot["resources"]["requests"]["memory"]
    assert bot["resources"]["limits"]["memory"]

    service = only(objects, "Service", "k8s-chatops")
    by_target = {p["targetPort"]: p["port"] for p in service["spec"]["ports"]}
    assert by_target == {"health": 8080, "slack-http": 3000}


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_env_volumes_and_the_slack_secret(directory: Path) -> None:
    objects = render(directory)
    deployment = only(objects, "Deployment", "k8s-chatops")
    bot = container(deployment)
    env = {e["name"]: e for e in bot["env"]}
    assert env["K8S_CHATOPS_CONFIG"]["value"] == "/etc/k8s-chatops/config.yaml"
    assert env["K8S_CHATOPS_STATE_DIR"]["value"] == "/var/lib/k8s-chatops"
    assert env["K8S_CHATOPS_SLACK__MODE"]["value"] in {"socket", "http"}

    def secret(name: str) -> dict[str, Any]:
        return env[name]["valueFrom"]["secretKeyRef"]

    assert secret("SLACK_BOT_TOKEN")["key"] == "bot-token" and not secret("SLACK_BOT_TOKEN").get("optional")
    assert secret("SLACK_APP_TOKEN")["key"] == "app-token"
    assert secret("SLACK_SIGNING_SECRET")["key"] == "signing-secret"
    # Whichever mode is chosen, the token the other mode needs may be absent.
    assert secret("SLACK_APP_TOKEN")["optional"] is True
    assert secret("SLACK_SIGNING_SECRET")["optional"] is True

    mounts = {m["mountPath"]: m for m in bot["volumeMounts"]}
    assert set(mounts) == {"/etc/k8s-chatops", "/var/lib/k8s-chatops", "/tmp"}
    assert mounts["/etc/k8s-chatops"]["readOnly"] is True
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/etc/k8s-chatops"]["name"]]["configMap"]["name"] == "k8s-chatops-config"
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    state = volumes[mounts["/var/lib/k8s-chatops"]["name"]]
    if "K8S_CHATOPS_STATE__DATABASE_URL" in env:  # the store is in PostgreSQL: the state directory is scratch
        assert "emptyDir" in state and not [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    else:
        only(objects, "PersistentVolumeClaim", state["persistentVolumeClaim"]["claimName"])


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_replicas_strategy_and_volume_access_agree(directory: Path) -> None:
    objects = render(directory)
    deployment = only(objects, "Deployment", "k8s-chatops")
    replicas = deployment["spec"].get("replicas", 1)
    env = {e["name"]: e for e in container(deployment)["env"]}
    claims = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    if replicas == 1:
        # SQLite on a ReadWriteOnce volume: the old pod must let go before the new one mounts it.
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
        assert [c["spec"]["accessModes"] for c in claims] == [["ReadWriteOnce"]]
    else:
        assert replicas == 2
        # Two replicas share the incident store in PostgreSQL, never SQLite on a shared volume.
        assert env["K8S_CHATOPS_STATE__DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": DATABASE_SECRET, "key": "url"}
        assert env["K8S_CHATOPS_LEADER_ELECTION__ENABLED"]["value"] == "true"
        assert claims == [], "no volume to share"
        pod = deployment["spec"]["template"]["spec"]
        keys = {(c["topologyKey"], c["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"])
                for c in pod["topologySpreadConstraints"]}
        assert ("topology.kubernetes.io/zone", True) in keys, "spread over zones"
        assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
        pdb = only(objects, "PodDisruptionBudget")
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
        assert pdb["spec"]["minAvailable"] == 1


def unknown_keys(data: Any, model: type[BaseModel], where: str = "") -> list[str]:
    """Keys of ``data`` that ``model`` has no field for, at any depth (a typo is silently ignored otherwise)."""
    if not isinstance(data, dict):
        return []
    problems: list[str] = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            problems.append(f"{where}{key}")
            continue
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                items = value if isinstance(value, list) else [value]
                for i, item in enumerate(items):
                    suffix = f"[{i}]" if isinstance(value, list) else ""
                    problems += unknown_keys(item, candidate, f"{where}{key}{suffix}.")
    return problems


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_the_shipped_config_names_only_settings_the_bot_has(directory: Path) -> None:
    assert unknown_keys(yaml.safe_load(config_text(render(directory))), Settings) == []


def test_the_unknown_key_finder_finds_a_typo() -> None:
    typo = {"alerts": {"chanel": "#x"}, "clusters": [{"name": "a", "gke": {"projet": "p"}}]}
    assert unknown_keys(typo, Settings) == ["alerts.chanel", "clusters[0].gke.projet"]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_the_shipped_config_loads_into_the_bots_settings(
    directory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("K8S_CHATOPS_", "SLACK_")):
            monkeypatch.delenv(name)
    config = tmp_path / "config.yaml"
    config.write_text(config_text(render(directory)))
    monkeypatch.setenv("K8S_CHATOPS_SLACK__MODE", "http")
    settings = load_settings(config)
    assert settings.slack.mode == "http", "the Deployment's env var selects the mode"
    assert settings.slack.command == "/k8s"
    assert settings.alerts.channel == "#k8s-alerts"
    assert settings.access.rules and set(settings.access.rules[0].commands) == {"logs", "ssh"}
    (cluster,) = settings.clusters
    assert cluster.in_cluster and cluster.gke is not None
    # The example describes a regional cluster: a region, not a zone.
    assert re.fullmatch(r"[a-z]+-[a-z]+\d+", cluster.gke.location)


def test_the_example_overlay_sets_image_project_and_config() -> None:
    base = render(KUSTOMIZE / "base")
    example = render(KUSTOMIZE / "overlays" / "example")
    annotation = "iam.gke.io/gcp-service-account"
    base_sa = only(base, "ServiceAccount", SERVICE_ACCOUNT)["metadata"]["annotations"][annotation]
    example_sa = only(example, "ServiceAccount", SERVICE_ACCOUNT)["metadata"]["annotations"][annotation]
    assert base_sa == "k8s-chatops@PROJECT_ID.iam.gserviceaccount.com"
    assert re.fullmatch(r"k8s-chatops@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com", example_sa)
    assert "PROJECT_ID" not in example_sa
    project = example_sa.split("@")[1].split(".")[0]
    assert f"project: {project}" in config_text(example)
    assert "PROJECT_ID" not in config_text(example)
    image = container(only(example, "Deployment", "k8s-chatops"))["image"]
    assert image != container(only(base, "Deployment", "k8s-chatops"))["image"]
    assert re.fullmatch(r"[\w.-]+(/[\w.-]+)+:[\w.-]+", image), image


# -- Terraform -------------------------------------------------------------------------


def terraform_text() -> str:
    return "\n".join(p.read_text() for p in sorted(TERRAFORM.glob("*.tf")))


def resource_block(text: str, kind: str, name: str) -> str:
    """The body of one resource block, found by brace counting."""
    start = re.search(rf'resource\s+"{kind}"\s+"{name}"\s*{{', text)
    assert start, f"no resource {kind}.{name}"
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start.end() : i - 1]


def test_terraform_has_its_files() -> None:
    assert {p.name for p in TERRAFORM.glob("*.tf")} >= {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}
    assert re.search(r'source\s*=\s*"hashicorp/google"', terraform_text())


def test_terraform_keeps_the_cluster_regional() -> None:
    text = terraform_text()
    cluster = resource_block(text, "google_container_cluster", "this")
    assert re.search(r"^\s*location\s*=\s*var\.region\s*$", cluster, re.M)
    # The comment that explains why the line must stay.
    assert re.search(r"zonal", cluster) and re.search(r"upgrad", cluster)
    # No zone literal anywhere as a location.
    assert not re.search(r'location\s*=\s*"[a-z]+-[a-z]+\d+-[a-z]"', text)
    pool = resource_block(text, "google_container_node_pool", "default")
    assert re.search(r"^\s*location\s*=\s*var\.region\s*$", pool, re.M)
    assert re.search(r"node_locations\s*=\s*var\.node_zones", pool)
    assert re.search(r"autoscaling\s*{", pool)
    # The region variable refuses a zone.
    region = re.search(r'variable\s+"region"\s*{(.*?)\n}', text, re.S)
    assert region and "validation" in region.group(1)
    zones = re.search(r'variable\s+"node_zones"\s*{.*?default\s*=\s*\[(.*?)\]', text, re.S)
    assert zones and len(re.findall(r'"[a-z]+-[a-z]+\d+-[a-z]"', zones.group(1))) == 3


def test_terraform_grants_the_bot_three_viewer_roles_through_workload_identity() -> None:
    text = terraform_text()
    cluster = resource_block(text, "google_container_cluster", "this")
    assert re.search(r"workload_identity_config\s*{[^}]*workload_pool", cluster)
    assert re.search(r'"\$\{var\.project_id\}\.svc\.id\.goog"', text)
    for role in ("roles/container.viewer", "roles/compute.viewer", "roles/logging.viewer"):
        assert f'"{role}"' in text
    assert not re.search(r'"roles/(owner|editor|container\.(admin|developer)|compute\.admin)"', text)
    binding = resource_block(text, "google_service_account_iam_member", "k8s_chatops_workload_identity")
    assert '"roles/iam.workloadIdentityUser"' in binding
    assert re.search(r"svc\.id\.goog|workload_pool", binding)
    defaults = dict(re.findall(r'variable\s+"(bot_namespace|bot_service_account)"\s*{[^}]*default\s*=\s*"([^"]+)"', text))
    assert defaults == {"bot_namespace": NAMESPACE, "bot_service_account": SERVICE_ACCOUNT}


def test_terraform_opens_ssh_to_the_nodes_from_iap_only() -> None:
    text = terraform_text()
    firewall = resource_block(text, "google_compute_firewall", "iap_ssh")
    assert re.search(r'source_ranges\s*=\s*\["35\.235\.240\.0/20"\]', firewall)
    assert re.search(r'direction\s*=\s*"INGRESS"', firewall)
    assert re.search(r'protocol\s*=\s*"tcp"', firewall) and re.search(r'ports\s*=\s*\["22"\]', firewall)
    assert re.search(r"target_tags\s*=\s*\[local\.node_tag\]", firewall)
    assert re.search(r"tags\s*=\s*\[local\.node_tag\]", resource_block(text, "google_container_node_pool", "default"))
    assert "0.0.0.0/0" not in text


def test_terraform_is_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-diff", "-recursive", str(TERRAFORM)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- Slack app manifests ---------------------------------------------------------------

REQUIRED_SCOPES = {
    "commands", "chat:write", "chat:write.public", "files:write", "reactions:write", "users:read",
    "usergroups:read", "channels:read", "groups:read", "im:write", "app_mentions:read",
    # to look, after Slack's answer to a post was lost, whether the post is there before sending it again
    "channels:history", "groups:history",
}


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest.http.yaml"])
def test_slack_manifest_declares_the_command_scopes_and_events(name: str) -> None:
    manifest = yaml.safe_load((DEPLOY / "slack" / name).read_text())
    assert manifest["display_information"]["name"]
    assert manifest["features"]["bot_user"]["display_name"]
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == SlackConfig().command
    assert command["usage_hint"] and command["should_escape"] is False
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False


def test_socket_mode_manifest_needs_no_public_url() -> None:
    manifest = yaml.safe_load((DEPLOY / "slack" / "manifest.yaml").read_text())
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in json.dumps(manifest) and '"url"' not in json.dumps(manifest)


def test_http_manifest_sends_everything_to_the_bots_events_path() -> None:
    manifest = yaml.safe_load((DEPLOY / "slack" / "manifest.http.yaml").read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = [
        manifest["features"]["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    path = SlackConfig().http_path
    assert path == "/slack/events"
    assert all(url == f"https://YOUR-HOST{path}" for url in urls), urls


# -- the image -------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continuation"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_image_is_built_in_two_stages_on_python_311_slim() -> None:
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for k, a in instructions if k == "ARG" and "=" in a)
    froms = [a for k, a in instructions if k == "FROM"]
    assert len(froms) == 2
    assert re.fullmatch(r"\S+ AS builder", froms[0])
    base = froms[1].split()[0]
    assert re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base) == "python:3.11-slim"
    # The runtime installs the package from wheels, it does not run the source tree.
    runs = " ".join(a for k, a in final_stage() if k == "RUN")
    assert "--no-index" in runs and "from=builder" in runs
    assert not [a for k, a in final_stage() if k == "COPY" and "bot" in a.split()]


def test_image_runs_the_console_script_as_a_fixed_non_root_user() -> None:
    stage = final_stage()
    users = [a for k, a in stage if k == "USER"]
    assert users and re.fullmatch(rf"{UID}(:{UID})?", users[-1])
    entrypoint = [a for k, a in stage if k == "ENTRYPOINT"]
    cmd = [a for k, a in stage if k == "CMD"]
    assert json.loads(entrypoint[-1]) == ["k8s-chatops"]
    assert json.loads(cmd[-1]) == ["run"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "k8s-chatops" in scripts
    env = " ".join(a for k, a in stage if k == "ENV")
    for variable in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "K8S_CHATOPS_STATE_DIR=/var/lib/k8s-chatops"):
        assert variable in env
    runs = " ".join(a for k, a in stage if k == "RUN")
    assert re.search(rf"useradd [^&]*--uid {UID}", runs)
    assert re.search(rf"install -d -o {UID} -g {UID} [^&]*/var/lib/k8s-chatops", runs)


def test_image_health_check_uses_python_against_healthz() -> None:
    stage = final_stage()
    (healthcheck,) = [a for k, a in stage if k == "HEALTHCHECK"]
    assert healthcheck.count("CMD") == 1
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[0] == "python" and "urllib.request" in command[-1]
    assert f"http://127.0.0.1:{HealthConfig().port}/healthz" in command[-1]
    # python:3.11-slim ships neither curl nor wget.
    assert not [a for k, a in stage if k in {"RUN", "HEALTHCHECK"} and re.search(r"\b(curl|wget)\b", a)]
    exposed = {p for k, a in stage if k == "EXPOSE" for p in a.split()}
    assert exposed == {"8080", "3000"}


def dockerignored(path: str) -> bool:
    """Whether the build context leaves ``path`` out (the last matching rule wins)."""
    ignored = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        candidates = [pattern] if not pattern.startswith("**/") else [pattern, pattern[3:]]
        if any(fnmatch.fnmatchcase(prefix, p) for prefix in prefixes for p in candidates) or any(
            pattern.startswith("**/") and fnmatch.fnmatchcase(part, pattern[3:]) for part in parts
        ):
            ignored = not negate
    return ignored


def test_build_context_holds_the_package_and_nothing_else() -> None:
    for kept in ("pyproject.toml", "README.md", "bot/cli.py", "bot/settings.py", "handlers/__init__.py"):
        assert not dockerignored(kept), kept
    for dropped in (
        ".venv/bin/python", ".git/HEAD", "tests/test_deploy_manifests.py", "bot/__pycache__/cli.cpython-311.pyc",
        "sim/__init__.py", "sim/demo.py", "sim/pyproject.toml", "sim/scenarios/zonal-shortfall.yaml",
        ".pytest_cache/v", "deploy/README.md", ".state/incidents.db",
    ):
        assert dockerignored(dropped), dropped
    # Everything the builder copies is in the repository and in the context.
    for keyword, args in dockerfile_instructions():
        if keyword == "COPY" and "--from" not in args:
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
                assert not dockerignored(source), source


def test_the_deploy_guide_lists_exactly_the_granted_reads() -> None:
    guide = (DEPLOY / "README.md").read_text()
    section = guide.split("## RBAC", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9./]+)` \| ([a-z, ]+) \|", section, re.M)
    groups = {group for group, _ in ALLOWED_READS if group}
    listed = {
        (prefix, rest) if prefix in groups else ("", resource)
        for resource, _ in rows
        for prefix, _, rest in [resource.partition("/")]
    }
    assert listed == ALLOWED_READS
    assert LEADER_LEASE in section


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=_id)
def test_the_deployments_settings_variables_name_real_settings(directory: Path) -> None:
    """K8S_CHATOPS_A__B must be a path through the settings model, or the bot never sees it."""
    env = container(only(render(directory), "Deployment", "k8s-chatops")).get("env", [])
    names = [item["name"] for item in env if item["name"].startswith("K8S_CHATOPS_") and item["name"] != "K8S_CHATOPS_CONFIG"]
    assert any("LEADER_ELECTION" in name for name in names)
    for name in names:
        model: type[BaseModel] = Settings
        parts = name.removeprefix("K8S_CHATOPS_").lower().split("__")
        for depth, part in enumerate(parts):
            field = model.model_fields.get(part)
            assert field is not None, f"{name}: the settings have no {'.'.join(parts[: depth + 1])}"
            nested = [c for c in (field.annotation, *typing.get_args(field.annotation)) if isinstance(c, type) and issubclass(c, BaseModel)]
            if depth < len(parts) - 1:
                assert nested, f"{name}: {part} has no sub-settings"
                model = nested[0]
