#!/usr/bin/env python3
"""Validates rendered manifests offline: every core object with kubernetes-validate (its bundled
schemas, strict: an unknown field is an error), every CloudNativePG and Prometheus Operator
object against the CRD schemas vendored in deploy/vendor/kubernetes-crds. Any other kind is an
error: nothing goes unchecked.

    validate.py CRD_DIR RENDERED.yaml...
"""
import os
import sys

import jsonschema
import kubernetes_validate
import yaml

# The Kubernetes version whose schemas core objects must satisfy: the newest one
# kubernetes-validate bundles (checked below), so that a field newer than the cluster is caught
# when the cluster is upgraded, not here.
CRD_GROUPS = ("postgresql.cnpg.io", "monitoring.coreos.com")


def crd_schemas(crd_dir):
    schemas = {}
    for name in sorted(os.listdir(crd_dir)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(crd_dir, name)) as f:
            crd = yaml.safe_load(f)
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def newest_bundled_version():
    folder = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    versions = [d[1:].split("-")[0] for d in os.listdir(folder) if d.startswith("v") and d.endswith("-local-strict")]
    if not versions:
        sys.exit("validate.py: kubernetes-validate has no bundled schemas: it cannot validate offline")
    return max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def main():
    crd_dir, files = sys.argv[1], sys.argv[2:]
    schemas = crd_schemas(crd_dir)
    version = newest_bundled_version()
    failures = 0
    counted = {"core": 0, "crd": 0}
    for path in files:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            what = f"{path}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            api = doc.get("apiVersion", "")
            try:
                if api.split("/")[0] in CRD_GROUPS:
                    schema = schemas.get((api, doc["kind"]))
                    if schema is None:
                        raise ValueError(f"no vendored CRD schema for {api} {doc['kind']}")
                    # Strict as the API server's structural pruning would be visible: unknown
                    # fields under a schema with properties are errors here.
                    # The schema itself is not checked: a CRD pattern in Go's syntax
                    # ((?i) mid-expression) is not a Python regex, and it is not ours to fix.
                    closed = close_objects(schema)
                    errors = list(jsonschema.Draft202012Validator(closed).iter_errors(doc))
                    if errors:
                        raise ValueError("; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors))
                    counted["crd"] += 1
                else:
                    kubernetes_validate.validate(doc, version, strict=True)
                    counted["core"] += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
                failures += 1
                msg = getattr(e, "message", str(e))
                print(f"INVALID {what}: {msg}", file=sys.stderr)
    print(f"validated against Kubernetes {version} and the vendored CRDs: "
          f"{counted['core']} core objects, {counted['crd']} custom resources, {failures} invalid")
    if counted["core"] == 0:
        print("validate.py: no object validated", file=sys.stderr)
        return 1
    return 1 if failures else 0


def close_objects(schema):
    """The CRD schema with additionalProperties false wherever properties are listed and nothing
    says otherwise (x-kubernetes-preserve-unknown-fields), so a misspelt field fails as the API
    server would drop it silently."""
    if isinstance(schema, dict):
        out = {k: close_objects(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            props = dict(out["properties"])
            # Every object has these at its top level; the CRD schemas leave metadata open.
            out["properties"] = props
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [close_objects(v) for v in schema]
    return schema


if __name__ == "__main__":
    sys.exit(main())
