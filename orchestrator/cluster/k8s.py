"""Render the kustomizations under k8s/ and validate every object they produce, offline.

    python -m orchestrator.cluster.k8s                  # every kustomization under k8s/
    python -m orchestrator.cluster.k8s k8s/overlays/gpu-cloud --print   # one, and its rendered YAML

**Rendering** is a pure-Python build of the small kustomize subset that k8s/ uses, applied in
kustomize's own order (patches, namespace, labels, images):

- `resources`: YAML files inside the kustomization's folder, or folders holding a kustomization;
- `patches` (`path:` or inline `patch:`): a JSON 6902 list (`add`, `remove`, `replace`, `test`) with
  a `target` of `kind` and `name`, or a strategic-merge patch that only merges maps. kustomize merges
  some lists by key and replaces others (every list of a custom resource), so a strategic-merge patch
  that touches a list is refused here: use a JSON 6902 patch;
- `namespace`; `labels` (`pairs` on metadata.labels only); `images` (`newName`, `newTag`, `digest`,
  matched on every `containers`/`initContainers` list, custom resources included).

Any other kustomization key, a patch that matches nothing, a file outside the kustomization's folder
or a repeated object fails with a clear message, so whatever this renders, `kubectl apply -k` renders
the same way.

**Validation**:

- core objects against the Kubernetes OpenAPI schemas that the `kubernetes-validate` package ships
  (strict: unknown fields fail; its API reports the first problem of each object);
- RayCluster and RayJob against KubeRay's CRDs (`openAPIV3Schema`), made strict the way the apiserver's
  strict field validation is: an object schema with `properties` and neither `additionalProperties` nor
  `x-kubernetes-preserve-unknown-fields` rejects unknown keys; `x-kubernetes-int-or-string` accepts an
  integer or a string; `nullable` accepts null; `x-kubernetes-embedded-resource` objects accept
  apiVersion/kind/metadata. CEL rules (`x-kubernetes-validations`) are not evaluated. Their
  metadata is checked as Kubernetes ObjectMeta;
- a RayJob's entrypoint must be a `toolsweep sweep|resume` command line the CLI accepts; a sweep file
  must load with the config model (with its `--set` overrides), and its `output_dir` and
  `search.storage_path` must lie on a volume mounted in every Ray pod (or be a URI), so trials restore
  on any node.

Pure Python: yaml, jsonschema and kubernetes-validate (the `dev` extra); no torch, ray or mlflow.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from orchestrator.errors import ToolsweepError

KUBERNETES_VERSION = "1.33"
CRD_DIR_ENV = "TOOLSWEEP_KUBERAY_CRDS"
CRD_FILES = ("ray.io_rayclusters.yaml", "ray.io_rayjobs.yaml")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "patches", "namespace", "labels", "images"}
# Kinds without a namespace: the namespace transformer leaves them alone (none of ours is one).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(ToolsweepError, ValueError):
    """A kustomization this renderer cannot build, or validation that cannot run (schemas missing)."""


@dataclass
class Manifest:
    obj: dict
    source: Path  # the file the object came from

    @property
    def label(self) -> str:
        return f"{self.obj.get('kind', '?')}/{(self.obj.get('metadata') or {}).get('name', '?')}"


@dataclass(frozen=True)
class Problem:
    where: str    # the kustomization (or file) being checked
    obj: str      # Kind/name (from the source file)
    path: str     # dotted path inside the object
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.obj}: {self.path or '(top level)'}: {self.message}"


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- rendering -----------------------------------------------------------------------------------


def _kustomization_file(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)


def find_kustomizations(root: Path) -> list[Path]:
    """Every folder under `root` (itself included) that holds a kustomization, sorted."""
    return sorted({p.parent for n in KUSTOMIZATION_FILES for p in root.rglob(n)})


def _load_docs(path: Path) -> list[Any]:
    try:
        return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader) if d is not None]
    except yaml.YAMLError as err:
        raise ManifestError(f"{_show(path)}: not valid YAML: {err}") from None


def _inside(base: Path, rel: str, what: str) -> Path:
    """kustomize's load restrictor: files must lie in the kustomization's folder or below it."""
    path = (base / rel).resolve()
    if path != base.resolve() and base.resolve() not in path.parents:
        raise ManifestError(f"{_show(base)}: {what} {rel!r} lies outside the kustomization's folder "
                            "(kustomize refuses that; reference a folder with its own kustomization)")
    return path


def render(directory: Path) -> list[Manifest]:
    """`kustomize build directory` for the supported subset (see the module docstring)."""
    directory = Path(directory)
    kfile = _kustomization_file(directory)
    if kfile is None:
        raise ManifestError(f"{_show(directory)}: no kustomization.yaml")
    docs = _load_docs(kfile)
    spec = docs[0] if docs else {}
    if not isinstance(spec, dict):
        raise ManifestError(f"{_show(kfile)}: the top level must be a mapping")
    if spec.get("kind", "Kustomization") != "Kustomization":
        raise ManifestError(f"{_show(kfile)}: kind {spec['kind']}: only a Kustomization is supported")
    unsupported = sorted(set(spec) - SUPPORTED_KEYS)
    if unsupported:
        raise ManifestError(f"{_show(kfile)}: {', '.join(unsupported)}: outside the kustomize subset this renderer "
                            f"supports ({', '.join(sorted(SUPPORTED_KEYS))})")
    manifests = _load_resources(spec.get("resources") or [], directory, kfile)
    _check_unique(manifests, kfile)
    # kustomize's order: patches, namespace, labels, images.
    for i, patch in enumerate(spec.get("patches") or []):
        _apply_patch(manifests, patch, directory, f"{_show(kfile)}: patches[{i}]")
    if spec.get("namespace"):
        for m in manifests:
            if m.obj["kind"] not in CLUSTER_SCOPED:
                m.obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for i, entry in enumerate(spec.get("labels") or []):
        # includeSelectors/includeTemplates would also rewrite selectors and pod templates: not in the subset.
        if not isinstance(entry, dict) or not isinstance(entry.get("pairs"), dict) or any(
                k != "pairs" and not (k in ("includeSelectors", "includeTemplates") and entry[k] is False) for k in entry):
            raise ManifestError(f"{_show(kfile)}: labels[{i}]: only `pairs` (added to metadata.labels) is supported")
        for m in manifests:
            m.obj.setdefault("metadata", {}).setdefault("labels", {}).update(entry["pairs"])
    for i, image in enumerate(spec.get("images") or []):
        if not isinstance(image, dict) or "name" not in image or set(image) - {"name", "newName", "newTag", "digest"}:
            raise ManifestError(f"{_show(kfile)}: images[{i}]: give name and any of newName, newTag, digest")
        for m in manifests:
            _set_images(m.obj, image)
    _check_unique(manifests, kfile)
    return manifests


def _load_resources(entries: list, directory: Path, kfile: Path) -> list[Manifest]:
    manifests: list[Manifest] = []
    for entry in entries:
        target = (directory / entry).resolve()
        if target.is_dir():  # another kustomization, built on its own first
            manifests.extend(render(target))
            continue
        path = _inside(directory, entry, "resource")
        if not path.is_file():
            raise ManifestError(f"{_show(kfile)}: resource {entry!r} does not exist")
        for doc in _load_docs(path):
            if not isinstance(doc, dict) or "kind" not in doc:
                raise ManifestError(f"{_show(path)}: every document must be a Kubernetes object with a kind")
            manifests.append(Manifest(doc, path))
    return manifests


def _identity(obj: dict) -> tuple:
    group = obj.get("apiVersion", "").rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return group, obj.get("kind"), meta.get("namespace"), meta.get("name")


def _check_unique(manifests: list[Manifest], kfile: Path) -> None:
    seen: dict[tuple, Manifest] = {}
    for m in manifests:
        key = _identity(m.obj)
        if key in seen:
            raise ManifestError(f"{_show(kfile)}: {m.label} appears twice ({_show(seen[key].source)} and "
                                f"{_show(m.source)})")
        seen[key] = m


def _apply_patch(manifests: list[Manifest], patch: dict, directory: Path, where: str) -> None:
    if not isinstance(patch, dict) or set(patch) - {"path", "patch", "target"} or ("path" in patch) == ("patch" in patch):
        raise ManifestError(f"{where}: give exactly one of `path` or `patch`, and optionally `target` (kind, name)")
    if "path" in patch:
        docs = _load_docs(_inside(directory, patch["path"], "patch"))
        where = f"{where} ({patch['path']})"
    else:
        try:
            docs = [d for d in yaml.load_all(patch["patch"], Loader=_Loader) if d is not None]
        except yaml.YAMLError as err:
            raise ManifestError(f"{where}: not valid YAML: {err}") from None
    target = patch.get("target")
    if target is not None and (not isinstance(target, dict) or set(target) - {"kind", "name"}):
        raise ManifestError(f"{where}: target supports `kind` and `name` only")
    if len(docs) == 1 and isinstance(docs[0], list):  # JSON 6902
        if target is None:
            raise ManifestError(f"{where}: a JSON 6902 patch needs a target")
        chosen = [m for m in manifests if _matches(m.obj, target)]
        if not chosen:
            raise ManifestError(f"{where}: target {target} matches no object")
        for m in chosen:
            for j, op in enumerate(docs[0]):
                _json6902(m.obj, op, f"{where}: {m.label}: op {j}")
        return
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ManifestError(f"{where}: a strategic-merge patch is one mapping; a JSON 6902 patch is one list")
    smp = docs[0]
    if target is None:  # the patch names its own object
        meta = smp.get("metadata") or {}
        target = {"kind": smp.get("kind"), "name": meta.get("name")}
        if "namespace" in meta:
            target["namespace"] = meta["namespace"]
    chosen = [m for m in manifests if _matches(m.obj, target)]
    if not chosen:
        raise ManifestError(f"{where}: no object matches {target}")
    for m in chosen:
        _merge_maps(m.obj, smp, f"{where}: {m.label}", "")


def _matches(obj: dict, target: dict) -> bool:
    meta = obj.get("metadata") or {}
    return all(obj.get("kind") == v if k == "kind" else meta.get(k) == v for k, v in target.items())


def _merge_maps(target: dict, patch: dict, where: str, path: str) -> None:
    for key, value in patch.items():
        here = f"{path}.{key}" if path else key
        if isinstance(key, str) and key.startswith("$"):
            raise ManifestError(f"{where}: {here}: strategic-merge directives are outside the supported subset")
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_maps(target[key], value, where, here)
        elif isinstance(value, list) and key in target:
            raise ManifestError(f"{where}: {here}: a strategic-merge patch may not change a list here (kustomize merges "
                                "some lists by key and replaces others); use a JSON 6902 patch")
        else:
            target[key] = copy.deepcopy(value)


def _pointer(path: str, where: str) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ManifestError(f"{where}: path {path!r} must be a JSON pointer starting with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _json6902(obj: dict, op: dict, where: str) -> None:
    if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace", "test"):
        raise ManifestError(f"{where}: supported ops are add, remove, replace and test, got {op!r}")
    tokens = _pointer(op.get("path"), where)
    parent: Any = obj
    for depth, token in enumerate(tokens[:-1]):
        parent = _step(parent, token, f"{where}: {op['path']}: no /{'/'.join(tokens[:depth + 1])}")
    last = tokens[-1]
    missing = f"{where}: {op['op']} {op['path']}: the target does not exist"
    if op["op"] in ("add", "replace", "test") and "value" not in op:
        raise ManifestError(f"{where}: {op['op']} needs a value")
    value = copy.deepcopy(op.get("value"))
    if isinstance(parent, list):
        if last == "-" and op["op"] == "add":
            parent.append(value)
            return
        index = _index(last, parent, missing, allow_end=op["op"] == "add")
        if op["op"] == "add":
            parent.insert(index, value)
        elif op["op"] == "replace":
            parent[index] = value
        elif op["op"] == "remove":
            del parent[index]
        elif parent[index] != value:
            raise ManifestError(f"{where}: test {op['path']} failed: {parent[index]!r} != {value!r}")
    elif isinstance(parent, dict):
        if op["op"] != "add" and last not in parent:
            raise ManifestError(missing)
        if op["op"] in ("add", "replace"):
            parent[last] = value
        elif op["op"] == "remove":
            del parent[last]
        elif parent[last] != value:
            raise ManifestError(f"{where}: test {op['path']} failed: {parent[last]!r} != {value!r}")
    else:
        raise ManifestError(missing)


def _index(token: str, items: list, message: str, allow_end: bool = False) -> int:
    if not token.isdigit() or int(token) > len(items) or (int(token) == len(items) and not allow_end):
        raise ManifestError(message)
    return int(token)


def _step(node: Any, token: str, message: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list):
        return node[_index(token, node, message)]
    raise ManifestError(message)


def split_image(ref: str) -> tuple[str, str, str]:
    """`registry:5000/name:tag@sha256:...` -> (name with registry, tag, digest)."""
    name, _, digest = ref.partition("@")
    head, colon, tag = name.rpartition(":")
    if colon and "/" not in tag:
        return head, tag, digest
    return name, "", digest


def _set_images(node: Any, image: dict) -> None:
    """kustomize's image transformer: every `image` in a `containers`/`initContainers` list, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = _retag(container["image"], image)
            _set_images(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_images(item, image)


def _retag(ref: str, image: dict) -> str:
    name, tag, digest = split_image(ref)
    if name != image["name"]:
        return ref
    name = image.get("newName") or name
    if image.get("newTag") or image.get("digest"):
        tag, digest = str(image.get("newTag") or ""), str(image.get("digest") or "")
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


# --- KubeRay CRD schemas -------------------------------------------------------------------------


def crd_dir(repo_root: Path) -> Path:
    """KubeRay's CRDs: $TOOLSWEEP_KUBERAY_CRDS, else ../shared/kuberay-crds beside the repository."""
    configured = os.environ.get(CRD_DIR_ENV)
    directory = Path(configured) if configured else Path(repo_root).resolve().parent / "shared" / "kuberay-crds"
    missing = [f for f in CRD_FILES if not (directory / f).is_file()]
    if missing:
        origin = f"${CRD_DIR_ENV}" if configured else "the default ../shared/kuberay-crds beside the repository"
        raise ManifestError(f"KubeRay CRDs not found: {directory} (from {origin}) lacks {', '.join(missing)}; "
                            f"point {CRD_DIR_ENV} at a folder holding {' and '.join(CRD_FILES)}")
    return directory


_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def strict_schema(node: Any) -> Any:
    """An openAPIV3Schema as a JSON Schema that rejects what the apiserver's strict field validation rejects."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strict_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strict_schema(sub) for sub in value]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strict_schema(value)
        elif key == "items" and isinstance(value, list):
            out[key] = [strict_schema(sub) for sub in value]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if "properties" in out and "additionalProperties" not in out and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=4)
def load_crd_schemas(directory: Path) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict JSON Schema, for every served version of each CRD file."""
    schemas = {}
    for name in CRD_FILES:
        for crd in _load_docs(Path(directory) / name):
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    openapi = version["schema"]["openAPIV3Schema"]
                    schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = strict_schema(openapi)
    return schemas


# --- validation ----------------------------------------------------------------------------------


def format_path(parts: Iterable) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in str(part) or "/" in str(part):
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else str(part)
    return out


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _describe(err: jsonschema.ValidationError) -> tuple[list, str]:
    """(path, message) for one schema error, in words a person fixing the YAML can act on."""
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {}))
        unknown = sorted(k for k in err.instance if k not in known)
        return path + unknown[:1], "unknown field" + (f" (also unknown: {', '.join(unknown[1:])})" if unknown[1:] else "")
    got = f"got {_JSON_TYPES.get(type(err.instance), type(err.instance).__name__)} {json.dumps(err.instance)[:80]}"
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return path, f"wrong type: expected {' or '.join(t for t in wanted if t != 'null')}, {got}"
    if err.validator in ("anyOf", "oneOf"):
        wanted = [s.get("type") for s in err.validator_value if isinstance(s, dict) and "type" in s]
        flat = [t for w in wanted for t in (w if isinstance(w, list) else [w]) if t != "null"]
        if flat:
            return path, f"wrong type: expected {' or '.join(dict.fromkeys(flat))}, {got}"
    if err.validator == "required":
        return path, f"missing required field {err.message.split(' is a required')[0]}"
    return path, err.message


def _crd_problems(obj: dict, schema: dict) -> list[tuple[str, str]]:
    validator = jsonschema.Draft4Validator(schema)
    found = []
    for err in validator.iter_errors(obj):
        path, message = _describe(err)
        found.append((format_path(path), message))
    return sorted(set(found))


def _core_problem(obj: dict, kube_version: str) -> tuple[str, str] | None:
    try:
        import kubernetes_validate
    except ImportError:
        raise ManifestError("the kubernetes-validate package is missing: pip install -e '.[dev]'") from None
    try:
        kubernetes_validate.validate(obj, kube_version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path, message = _describe(err)
        return format_path(path), message
    except kubernetes_validate.SchemaNotFoundError as err:
        return "", f"no schema for {obj.get('apiVersion')} {obj.get('kind')} in Kubernetes {kube_version}: {err.message}"
    return None


def validate_manifest(m: Manifest, crds: dict[tuple[str, str], dict], kube_version: str = KUBERNETES_VERSION,
                      where: str = "") -> list[Problem]:
    """Every problem of one rendered object against its schema (none = valid)."""
    obj, where = m.obj, where or _show(m.source)
    label = f"{m.label} (from {_show(m.source)})"
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str):
            return [Problem(where, label, field, "missing (every object needs apiVersion and kind)")]
    if not (obj.get("metadata") or {}).get("name"):
        return [Problem(where, label, "metadata.name", "missing")]
    schema = crds.get((obj["apiVersion"], obj["kind"]))
    if schema is None:
        if obj["apiVersion"].split("/")[0].endswith("ray.io"):
            return [Problem(where, label, "apiVersion", f"{obj['apiVersion']} {obj['kind']} is not served by the KubeRay CRDs")]
        problem = _core_problem(obj, kube_version)
        return [Problem(where, label, *problem)] if problem else []
    problems = [Problem(where, label, path, message) for path, message in _crd_problems(obj, schema)]
    # The CRD schema leaves metadata open; the apiserver checks it as ObjectMeta.
    meta_problem = _core_problem({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}, kube_version)
    if meta_problem:
        problems.append(Problem(where, label, *meta_problem))
    return problems


# --- RayJob semantics ----------------------------------------------------------------------------


def _cluster_spec(obj: dict) -> dict:
    return obj["spec"]["rayClusterSpec"] if obj["kind"] == "RayJob" else obj["spec"]


def shared_mounts(cluster_spec: dict) -> set[str]:
    """Mount paths of persistent volumes that the Ray container of the head and of every worker group mount."""
    groups = [cluster_spec["headGroupSpec"], *cluster_spec.get("workerGroupSpecs", [])]
    common: set[str] | None = None
    for group in groups:
        pod = group["template"]["spec"]
        claims = {v["name"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v}
        ray_container = pod["containers"][0]  # KubeRay runs Ray in the first container
        mounts = {vm["mountPath"].rstrip("/") or "/" for vm in ray_container.get("volumeMounts", []) if vm["name"] in claims}
        common = mounts if common is None else common & mounts
    return common or set()


def _on_shared(path: str, mounts: set[str]) -> bool:
    if "://" in path:
        return True  # an object store URI (s3://, gs://) is reachable from every node
    p = Path(path)
    return p.is_absolute() and any(p == Path(m) or Path(m) in p.parents for m in mounts)


def rayjob_problems(m: Manifest, repo_root: Path, where: str = "") -> list[Problem]:
    """The entrypoint is a toolsweep command the CLI accepts; its sweep file loads; its storage is shared."""
    from orchestrator.cli import build_parser
    from orchestrator.config import ConfigError, load_config, parse_override

    where, label = where or _show(m.source), f"{m.label} (from {_show(m.source)})"
    entrypoint = m.obj["spec"].get("entrypoint", "")
    argv = shlex.split(entrypoint)
    if argv[:1] != ["toolsweep"] or argv[1:2] not in (["sweep"], ["resume"]):
        return [Problem(where, label, "spec.entrypoint", f"expected `toolsweep sweep|resume ...`, got {entrypoint!r}")]
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit:
        return [Problem(where, label, "spec.entrypoint", f"the toolsweep CLI rejects {entrypoint!r}")]
    if args.command == "resume":
        return []
    config = Path(repo_root) / args.config
    try:
        cfg = load_config(config, dict(parse_override(s) for s in args.set or []))
    except ConfigError as err:
        return [Problem(where, label, "spec.entrypoint", f"the sweep file does not load: {err}")]
    mounts = shared_mounts(_cluster_spec(m.obj))
    problems = []
    for key, value in (("output_dir", str(cfg.output_dir)), ("search.storage_path", cfg.search.storage_path)):
        if not _on_shared(value, mounts):
            problems.append(Problem(where, label, "spec.entrypoint",
                                    f"{key} {value!r} is not on a volume that every Ray pod mounts "
                                    f"({', '.join(sorted(mounts)) or 'none'}): trials could not restore on another node; "
                                    f"add --set {key}=<path on the shared volume>"))
    return problems


# --- the whole tree ------------------------------------------------------------------------------


def check_kustomization(directory: Path, repo_root: Path, crds: dict, kube_version: str = KUBERNETES_VERSION
                        ) -> tuple[list[Manifest], list[Problem]]:
    """Render one kustomization and validate every object it produces."""
    where = _show(directory)
    try:
        manifests = render(directory)
    except ManifestError as err:
        return [], [Problem(where, "(render)", "", str(err))]
    problems = []
    for m in manifests:
        found = validate_manifest(m, crds, kube_version, where)
        problems.extend(found)
        if not found and m.obj["kind"] == "RayJob":
            problems.extend(rayjob_problems(m, repo_root, where))
    return manifests, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.cluster.k8s", description=__doc__.split("\n\n")[0])
    parser.add_argument("kustomizations", nargs="*", type=Path,
                        help="kustomization folders (default: every one under k8s/)")
    parser.add_argument("--root", type=Path, default=Path("k8s"), help="where to look for kustomizations (default: k8s)")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    parser.add_argument("--print", action="store_true", help="also print the rendered YAML (like kustomize build)")
    args = parser.parse_args(argv)
    repo_root = args.root.resolve().parent
    try:
        crds = load_crd_schemas(crd_dir(repo_root))
        targets = args.kustomizations or find_kustomizations(args.root)
        if not targets:
            raise ManifestError(f"no kustomization under {args.root}")
        failed = 0
        for directory in targets:
            manifests, problems = check_kustomization(directory, repo_root, crds, args.kubernetes_version)
            if args.print:
                print(yaml.safe_dump_all([m.obj for m in manifests], sort_keys=False), end="---\n")
            if problems:
                failed += 1
                print(f"FAIL {_show(directory)}: {len(problems)} problem(s)", file=sys.stderr)
                for p in problems:
                    print(f"  - {p}", file=sys.stderr)
            else:
                print(f"ok   {_show(directory)}: {len(manifests)} objects valid "
                      f"({', '.join(m.label for m in manifests)})", file=sys.stderr)
    except ManifestError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
