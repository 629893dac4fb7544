#!/usr/bin/env python3
"""Proves the rendered NetworkPolicies fit the rendered configuration, both ways:

- every connection a process's configuration names (its section of tis.toml: database URLs,
  `discovery = { kind = "dns" }` hosts, the issuer; the gateway's routes.toml pools; idp
  public_url for the local overlay) is allowed by the source pod's egress policies AND the
  destination pod's ingress policies;
- between the namespace's pods, nothing else is: every TIS pod is egress-isolated, and each
  (source, destination pod, port) the policies allow is one the configuration needs;
- every TIS pod may reach the cluster DNS (kube-system, k8s-app=kube-dns, port 53 UDP+TCP).

A host outside the namespace (Keycloak's issuer) is checked for an egress rule to the
namespaces `keycloak` or `ingress-nginx` on its port. NetworkPolicies are evaluated as the
API defines them (podSelector / namespaceSelector / ports; policies add up). The kubelet's
probes are not subject to policies and are not checked.

    netpol_check.py RENDERED.yaml...
"""
import sys
import tomllib
import urllib.parse

import yaml

NAMESPACE = "tis"
SUFFIX = f".{NAMESPACE}.svc.cluster.local"
DNS = {"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}
OUTSIDE = ({"kubernetes.io/metadata.name": "keycloak"}, {"kubernetes.io/metadata.name": "ingress-nginx"})


def matches(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, values = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def port_ok(rule, port, protocol="TCP"):
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports)


def peer_ok(peer, ns_labels, pod_labels):
    """One `to`/`from` entry: podSelector alone is this namespace; namespaceSelector picks namespaces."""
    if "ipBlock" in peer:
        return False
    ns_sel = peer.get("namespaceSelector")
    pod_sel = peer.get("podSelector")
    if ns_sel is None:
        in_ns = ns_labels.get("kubernetes.io/metadata.name") == NAMESPACE
    else:
        in_ns = matches(ns_sel, ns_labels)
    return in_ns and (pod_sel is None or matches(pod_sel, pod_labels))


def allowed(policies, direction, own_labels, ns_labels, peer_labels, port, protocol="TCP"):
    """Whether policies of `direction` selecting a pod with own_labels let it talk to the peer."""
    selecting = [p for p in policies if matches(p["spec"]["podSelector"], own_labels)
                 and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return None  # not isolated
    key, side = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for p in selecting:
        for rule in p["spec"].get(key) or []:
            peers = rule.get(side)
            if port_ok(rule, port, protocol) and (not peers or any(peer_ok(x, ns_labels, peer_labels) for x in peers)):
                return True
    return False


def main():
    failures = 0
    for path in sys.argv[1:]:
        docs = [d for d in yaml.safe_load_all(open(path)) if d]
        by = lambda kind: [d for d in docs if d["kind"] == kind]
        policies = by("NetworkPolicy")
        deployments = {d["metadata"]["name"]: d for d in by("Deployment")}
        services = {s["metadata"]["name"]: s for s in by("Service")}
        clusters = [c["metadata"]["name"] for c in by("Cluster")]
        cm = next(d for d in by("ConfigMap") if d["metadata"]["name"].startswith("tis-config"))
        config = tomllib.loads(cm["data"]["tis.toml"])
        routes = next(d for d in by("ConfigMap") if d["metadata"]["name"].startswith("tis-routes"))
        routes = tomllib.loads(routes["data"]["routes.toml"])
        here = {"kubernetes.io/metadata.name": NAMESPACE}

        def labels(dep):
            return dep["spec"]["template"]["metadata"]["labels"]

        # Every destination pod in the namespace: (name, labels, {ports}).
        pods = [(n, labels(d), {p["containerPort"] for c in d["spec"]["template"]["spec"]["containers"]
                                for p in c.get("ports", [])}) for n, d in deployments.items()]
        pods += [(c, {"cnpg.io/cluster": c}, {5432}) for c in clusters]

        def targets(host, port):
            """(pod name, labels, port) behind a host:port of the namespace; None if outside."""
            name = host[: -len(SUFFIX)] if host.endswith(SUFFIX) else host
            if "." in name:
                return None
            for c in clusters:
                if name in (f"{c}-rw", f"{c}-ro", f"{c}-r"):
                    return [(c, {"cnpg.io/cluster": c}, 5432)]
            svc = services.get(name)
            if svc is None:
                raise SystemExit(f"{path}: the configuration names {host}, which is no Service")
            sp = next(p for p in svc["spec"]["ports"] if port in (p["port"], p.get("name")))
            out = []
            for n, d in deployments.items():
                if matches({"matchLabels": svc["spec"]["selector"]}, labels(d)):
                    tp = sp.get("targetPort", sp["port"])
                    if isinstance(tp, str):
                        tp = next(p["containerPort"] for c in d["spec"]["template"]["spec"]["containers"]
                                  for p in c.get("ports", []) if p.get("name") == tp)
                    out.append((n, labels(d), tp))
            return out

        def needs(node, acc):
            """Every (host, port) a configuration subtree names."""
            if isinstance(node, dict):
                if node.get("kind") == "dns":
                    acc.add((node["host"], node["port"]))
                    return acc
                for k, v in node.items():
                    if k not in ("listen", "admin_listen", "public_url"):
                        needs(v, acc)
            elif isinstance(node, list):
                for v in node:
                    needs(v, acc)
            elif isinstance(node, str) and "://" in node:
                u = urllib.parse.urlsplit(node)
                if u.hostname:
                    default = {"http": 80, "https": 443, "postgres": 5432, "postgresql": 5432}.get(u.scheme)
                    acc.add((u.hostname, u.port or default))
            return acc

        needed = set()  # (source, destination pod, port)
        for name, dep in deployments.items():
            args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
            section = args[1] if args[0] == "serve" else args[0]
            wants = needs(config.get(section, {}), set())
            if section == "gateway":
                wants |= needs(routes, set())
            for host, port in sorted(wants):
                dests = targets(host, port)
                if dests is None:
                    ok = any(allowed(policies, "Egress", labels(dep), ns, {}, port) for ns in OUTSIDE)
                    print(f"{'ok  ' if ok else 'FAIL'} {name} -> {host}:{port} (outside the namespace)")
                    failures += not ok
                    continue
                for dest, dest_labels, dport in dests:
                    needed.add((name, dest, dport))
                    eg = allowed(policies, "Egress", labels(dep), here, dest_labels, dport)
                    ing = allowed(policies, "Ingress", dest_labels, here, labels(dep), dport)
                    ok = eg is not False and ing is not False
                    print(f"{'ok  ' if ok else 'FAIL'} {name} -> {dest}:{dport} ({host}; egress {eg}, ingress {ing})")
                    failures += not ok
        # Isolation: every TIS pod is egress-isolated, reaches DNS, and nothing more inside.
        for name, dep in deployments.items():
            if allowed(policies, "Egress", labels(dep), here, {}, 1) is None:
                print(f"FAIL {name} is not egress-isolated")
                failures += 1
                continue
            for proto in ("UDP", "TCP"):
                if not allowed(policies, "Egress", labels(dep), DNS[0], DNS[1], 53, proto):
                    print(f"FAIL {name} cannot reach DNS over {proto}")
                    failures += 1
            for dest, dest_labels, dports in pods:
                for dport in dports:
                    if dest != name and allowed(policies, "Egress", labels(dep), here, dest_labels, dport) \
                            and (name, dest, dport) not in needed:
                        print(f"FAIL {name} -> {dest}:{dport} is allowed but no configuration needs it")
                        failures += 1
        print(f"{path}: {len(needed)} connections needed, all allowed both ways; nothing else between the pods"
              if not failures else f"{path}: {failures} problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
