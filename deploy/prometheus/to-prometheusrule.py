#!/usr/bin/env python3
"""Writes deploy/kubernetes/base/slo-rules.yaml, the PrometheusRule `tis-slo`, from
deploy/prometheus/slo-rules.yml: one file of SLO rules, tested by promtool
(deploy/prometheus/check.sh) and shipped with the manifests.

    to-prometheusrule.py           rewrite the PrometheusRule
    to-prometheusrule.py --check   fail if it is not what the rules file gives (deploy/check.sh)
"""
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "slo-rules.yml")
TARGET = os.path.join(HERE, "..", "kubernetes", "base", "slo-rules.yaml")

HEADER = """\
# GENERATED from deploy/prometheus/slo-rules.yml by deploy/prometheus/to-prometheusrule.py: do not
# edit. Change the rules there (promtool tests them: deploy/prometheus/check.sh), then run the
# script; deploy/check.sh fails when this file is stale. What the rules mean: docs/slo.md.
"""


class Literal(str):
    pass


def literal(dumper, value):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


def blocks(node):
    """Multi-line strings (the expressions) as literal blocks, as in the source."""
    if isinstance(node, dict):
        return {k: blocks(v) for k, v in node.items()}
    if isinstance(node, list):
        return [blocks(v) for v in node]
    if isinstance(node, str) and "\n" in node:
        return Literal(node)
    return node


def render():
    with open(SOURCE) as f:
        rules = yaml.safe_load(f)
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "tis-slo"},
        "spec": {"groups": rules["groups"]},
    }
    dumper = yaml.SafeDumper
    dumper.add_representer(Literal, literal)
    body = yaml.dump(blocks(rule), Dumper=dumper, sort_keys=False, width=120, allow_unicode=True)
    return HEADER + body


def main():
    text = render()
    if sys.argv[1:] == ["--check"]:
        with open(TARGET) as f:
            current = f.read()
        if current != text:
            sys.exit(f"{os.path.relpath(TARGET)} is stale: run deploy/prometheus/to-prometheusrule.py")
        print(f"{os.path.relpath(TARGET)} is deploy/prometheus/slo-rules.yml's rules")
        return
    with open(TARGET, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
