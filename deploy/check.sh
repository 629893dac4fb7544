#!/usr/bin/env bash
# Checks deploy/ for real (issue 15), offline:
#   1. `kubectl kustomize` renders every overlay, and blue/green releases (the production
#      overlay with every service's green track, whose colours deploy/bluegreen_check.py
#      checks; the local overlay with a green Reference);
#   2. every core object validates with kubernetes-validate (its bundled schemas, strict), every
#      CloudNativePG / Prometheus Operator object against the vendored CRD schemas;
#   3. the PrometheusRule tis-slo is deploy/prometheus/slo-rules.yml's rules (generated, not
#      stale), and promtool accepts every PrometheusRule's rules as rendered; the
#      NetworkPolicies allow exactly the connections the rendered configuration needs
#      (deploy/netpol_check.py);
#      checkov passes on the rendered output (skips justified in deploy/checkov.yaml);
#   4. the image builds from the given `tis` with deploy/image/build.sh (no base image pulled);
#   5. the local overlay runs (with a green Reference): the identity provider, every service and
#      the gateway as separate podman containers with the rendered arguments, environment and
#      tis.toml, a request with a real token goes through the gateway, every pod serves metrics
#      where its PodMonitor scrapes and the public port none, and Reference's weights shifted
#      from blue to green and back move its requests without one failing (deploy/run_rendered.py);
#   6. the same with one key of the rendered tis.toml misspelt must fail, naming the key;
#   7. the production overlay's tis.toml parses in every process (no unknown key or bad type).
#
#   deploy/check.sh [TIS_BINARY]      (default target/debug/tis)
#
# Needs kubectl, podman + runc, openssl, promtool, PostgreSQL's server binaries, python3 (venv): CI
# installs them (.ci/run). A missing tool is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/tis}
crds=${TIS_CRD_DIR:-deploy/vendor/kubernetes-crds}
venv=${TIS_DEPLOY_VENV:-/tmp/tis-deploy-venv}
log() { printf '\n--> %s\n' "$*"; }

for tool in kubectl podman runc openssl python3 promtool; do
    command -v "$tool" >/dev/null || { echo "deploy/check.sh: $tool is not installed" >&2; exit 1; }
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "deploy/check.sh: PostgreSQL's server binaries are not installed" >&2; exit 1; }
[ -d "$crds" ] || { echo "deploy/check.sh: no CRD schemas at $crds (TIS_CRD_DIR)" >&2; exit 1; }
[ -x "$bin" ] || { echo "deploy/check.sh: no tis binary at $bin" >&2; exit 1; }

if ! "$venv/bin/python" -c 'import kubernetes_validate, jsonschema, yaml, tomli_w' 2>/dev/null \
    || ! "$venv/bin/checkov" --version >/dev/null 2>&1; then
    log "Python tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/requirements.txt
fi
py="$venv/bin/python"

out=$(mktemp -d /tmp/tis-deploy-check.XXXXXX)
trap 'rm -rf "$out"' EXIT

log "kubectl kustomize"
for overlay in deploy/kubernetes/overlays/*/; do
    name=$(basename "$overlay")
    kubectl kustomize "$overlay" > "$out/$name.yaml"
    echo "$name: $(grep -c '^kind:' "$out/$name.yaml") objects"
done

log "blue/green releases: overlays with green tracks added"
# What docs/operations-kubernetes.md's "Blue/green" tells an operator to do, done to a copy of
# the tree: green/<service> added to an overlay's resources, the release as image tis-green.
# production-release (every service green) is checked below with the overlays (schemas,
# NetworkPolicies, checkov) and for its colours by deploy/bluegreen_check.py; local-release
# (Reference green, the same image) is what runs in containers, weights shifted for real.
release() { # overlay image-name image-tag service...
    local overlay=$1 name=$2 tag=$3
    shift 3
    rm -rf "$out/tree"
    cp -r deploy/kubernetes "$out/tree"
    "$py" - "$out/tree/overlays/$overlay/kustomization.yaml" "$name" "$tag" "$@" <<'PY'
import sys
path, name, tag, services = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
text = open(path).read()
green = "".join(f"  - ../../green/{s}\n" for s in services)
image = f"  - name: tis-green\n    newName: {name}\n    newTag: \"{tag}\"\n"
for old, new in (("resources:\n  - ../../base\n", "resources:\n  - ../../base\n" + green), ("images:\n", "images:\n" + image)):
    if old not in text:
        sys.exit(f"deploy/check.sh: {path} has no `{old.strip()}` to add the green tracks to")
    text = text.replace(old, new, 1)
open(path, "w").write(text)
PY
    kubectl kustomize "$out/tree/overlays/$overlay" > "$out/$overlay-release.yaml"
    rm -rf "$out/tree"
    echo "$overlay-release: $(grep -c '^kind:' "$out/$overlay-release.yaml") objects (green: $*)"
}
release production registry.tis.example.org/tis 0.2.0 reference profile tcs web
"$py" deploy/bluegreen_check.py "$out/production-release.yaml"
release local localhost/tis dev reference

log "schemas: kubernetes-validate and the vendored CRDs"
"$py" deploy/validate.py "$crds" "$out"/*.yaml

log "NetworkPolicies against the configuration (both ways)"
"$py" deploy/netpol_check.py "$out"/*.yaml | grep -v '^ok '

log "checkov"
"$venv/bin/checkov" --config-file deploy/checkov.yaml -d "$out"

log "Prometheus rules: the SLO rules as shipped, and every PrometheusRule's PromQL"
# deploy/prometheus/slo-rules.yml is the one file of SLO rules (promtool tests it in
# deploy/prometheus/check.sh); the manifests carry it as the PrometheusRule tis-slo, generated.
"$py" deploy/prometheus/to-prometheusrule.py --check
"$py" - "$out" "$out"/*.yaml <<'PY'
import os, sys, yaml
out, files = sys.argv[1], sys.argv[2:]
source = yaml.safe_load(open("deploy/prometheus/slo-rules.yml"))["groups"]
for path in files:
    docs = [d for d in yaml.safe_load_all(open(path)) if d and d["kind"] == "PrometheusRule"]
    slo = [d for d in docs if d["metadata"]["name"] == "tis-slo"]
    if len(slo) != 1 or slo[0]["spec"]["groups"] != source:
        sys.exit(f"{path}: no PrometheusRule tis-slo with exactly the rules of deploy/prometheus/slo-rules.yml")
    name = os.path.basename(path).removesuffix(".yaml")
    with open(os.path.join(out, f"{name}.rules.yml"), "w") as f:
        yaml.safe_dump({"groups": [g for d in docs for g in d["spec"]["groups"]]}, f)
PY
promtool check rules "$out"/*.rules.yml

log "image from $bin"
image=$(awk '$1 == "image:" { print $2 }' "$out/local.yaml" | sort -u)
[ "$(wc -l <<<"$image")" = 1 ] || { echo "deploy/check.sh: the local overlay names several images: $image" >&2; exit 1; }
deploy/image/build.sh --strip "$bin" "$image"

log "the local overlay with a green Reference, run in containers; weights shifted and back"
"$py" deploy/run_rendered.py "$out/local-release.yaml"

log "a misspelt key in the rendered tis.toml must fail"
# The first drain table's shutdown_timeout, misspelt: every process reads the whole file.
sed '0,/shutdown_timeout = "30s"/s//shutdown_timout = "30s"/' "$out/local.yaml" > "$out/typo.yaml"
grep -q shutdown_timout "$out/typo.yaml" || { echo "deploy/check.sh: could not misspell a key" >&2; exit 1; }
if "$py" deploy/run_rendered.py "$out/typo.yaml" > "$out/typo.log" 2>&1; then
    cat "$out/typo.log"
    echo "deploy/check.sh: a misspelt configuration key went unnoticed" >&2
    exit 1
fi
grep -q 'unknown field: found `shutdown_timout`' "$out/typo.log" || {
    cat "$out/typo.log"; echo "deploy/check.sh: the misspelt run failed, but not on the key" >&2; exit 1; }
echo "refused as it should be: $(grep -m1 -o 'unknown field: found `shutdown_timout`[^(]*' "$out/typo.log")"

log "the production overlay's tis.toml: every key known to every process"
# Not runnable here (Keycloak, the secrets), but its keys must all parse: each Deployment's
# command with the production file, which fails later for want of its key files, never on a key.
"$py" - "$out/production.yaml" "$out/production-tis.toml" > "$out/production-commands" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("tis-config"))
open(sys.argv[2], "w").write(cm["data"]["tis.toml"])
for d in docs:
    if d["kind"] == "Deployment":
        args = d["spec"]["template"]["spec"]["containers"][0]["args"]
        print(" ".join(a if a != "/etc/tis/tis.toml" else sys.argv[2] for a in args))
PY
while read -r command; do
    # shellcheck disable=SC2086 # the arguments are words
    timeout 10 "$bin" $command > "$out/cmd.log" 2>&1 || true
    if grep -q 'unknown field\|unknown variant\|invalid type' "$out/cmd.log"; then
        cat "$out/cmd.log"; echo "deploy/check.sh: tis $command refuses the production tis.toml" >&2; exit 1
    fi
    echo "tis $command: keys accepted ($(tail -c 120 "$out/cmd.log" | tr '\n' ' '))"
done < "$out/production-commands"

echo
echo "deploy: 3 passed, 0 failed"
