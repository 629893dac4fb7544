#!/usr/bin/env python3
"""Checks a rendered release (the production overlay with green/<service> added, as
docs/operations-kubernetes.md's "Blue/green" says) for what the gateway's weighted pools need:

- for every service, two Deployments, <service> (blue) and <service>-green, whose selectors
  and pod labels differ only in tis.nhs.uk/track, with the same pod spec but for the image
  (blue `tis`'s, green `tis-green`'s, pinned by the overlay): same arguments, environment,
  ConfigMaps, probes, resources;
- the headless Services <service>-blue and <service>-green select exactly one colour's pods
  each, and <service> (the mesh's callers) both;
- a PodDisruptionBudget per colour, each matching only its colour's pods (a pod matched by two
  cannot be evicted), and a HorizontalPodAutoscaler per colour targeting its Deployment;
- the gateway's routes.toml has pools blue and green for the service, discovered by DNS on
  those two Services.

    bluegreen_check.py RELEASE.yaml
"""
import sys
import tomllib

import yaml

TRACK = "tis.nhs.uk/track"
SERVICES = ("reference", "profile", "tcs", "web")


def main(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    problems = []

    def need(kind, name):
        if (kind, name) not in by:
            problems.append(f"no {kind} {name}")
            return None
        return by[(kind, name)]

    routes_cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "tis-routes")
    routes = tomllib.loads(routes_cm["data"]["routes.toml"])
    for svc in SERVICES:
        blue, green = need("Deployment", svc), need("Deployment", f"{svc}-green")
        if not blue or not green:
            continue
        pods = {}
        for colour, d in (("blue", blue), ("green", green)):
            sel = d["spec"]["selector"]["matchLabels"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            if sel.get(TRACK) != colour or labels.get(TRACK) != colour:
                problems.append(f"Deployment {d['metadata']['name']}: selector or pods not {TRACK}: {colour}")
            pods[colour] = labels
        strip = lambda labels: {k: v for k, v in labels.items() if k != TRACK}
        if strip(blue["spec"]["selector"]["matchLabels"]) != strip(green["spec"]["selector"]["matchLabels"]):
            problems.append(f"{svc}: the colours' selectors differ beyond {TRACK}")
        bspec, gspec = (d["spec"]["template"]["spec"] for d in (blue, green))
        bimg, gimg = bspec["containers"][0].pop("image"), gspec["containers"][0].pop("image")
        if bspec != gspec:
            problems.append(f"{svc}: the green pod spec differs from the blue one beyond the image")
        bspec["containers"][0]["image"], gspec["containers"][0]["image"] = bimg, gimg
        for name, colours in ((svc, ("blue", "green")), (f"{svc}-blue", ("blue",)), (f"{svc}-green", ("green",))):
            s = need("Service", name)
            if s and {c for c in pods if all(pods[c].get(k) == v for k, v in s["spec"]["selector"].items())} != set(colours):
                problems.append(f"Service {name} does not select exactly the {'/'.join(colours)} pods")
        for kind, suffix, colour in (("PodDisruptionBudget", "", "blue"), ("PodDisruptionBudget", "-green", "green")):
            p = need(kind, svc + suffix)
            if p:
                sel = p["spec"]["selector"]["matchLabels"]
                hit = {c for c in pods if all(pods[c].get(k) == v for k, v in sel.items())}
                if hit != {colour}:
                    problems.append(f"PodDisruptionBudget {svc + suffix} matches the {sorted(hit)} pods, not {colour} only")
        for suffix in ("", "-green"):
            h = need("HorizontalPodAutoscaler", svc + suffix)
            if h and h["spec"]["scaleTargetRef"]["name"] != svc + suffix:
                problems.append(f"HorizontalPodAutoscaler {svc + suffix} scales {h['spec']['scaleTargetRef']['name']}")
        pools = routes.get("services", {}).get(svc, {}).get("pools", {})
        for colour in ("blue", "green"):
            host = pools.get(colour, {}).get("discovery", {}).get("host", "")
            if not host.startswith(f"{svc}-{colour}."):
                problems.append(f"routes.toml: pool {svc}/{colour} is not discovered on the Service {svc}-{colour}")
        print(f"ok {svc}: blue {bimg}, green {gimg}")
    if problems:
        sys.exit("bluegreen_check.py:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main(sys.argv[1])
