#!/usr/bin/env python3
"""Runs what a rendered overlay describes, one podman container per Deployment, and sends a
request with a real token through the gateway.

    run_rendered.py RENDERED.yaml

Each container gets exactly its Deployment's image, arguments, environment, user, read-only
root filesystem, dropped capabilities, and volumes at their mount paths: the ConfigMaps' files
(tis.toml, routes.toml) with only the addresses rewritten to loopback and free ports (every
pod would listen on 8080; here they share the host network), Secrets made up on the spot (a
fresh Ed25519 principal key pair, database passwords), emptyDirs as tmpfs. A misspelt key in
a ConfigMap therefore reaches `tis` as it is, and the process exits 2: the check fails.

PostgreSQL: a throwaway primary and one streaming standby (what CloudNativePG's -rw and -ro
Services lead to), with the database, role and password of each CloudNativePG Cluster's
bootstrap, password authentication over TCP. Needs podman (with runc), PostgreSQL's server
binaries, openssl; Python packages pyyaml and tomli-w.

Environment: TIS_CHECK_RUNTIME (default runc: crun refuses this machine's hybrid cgroups),
TIS_CHECK_KEEP=1 keeps the containers and the folder for a look afterwards.
"""
import glob
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request

import tomli_w
import yaml

NAMESPACE_SUFFIX = ".tis.svc.cluster.local"
RUNTIME = os.environ.get("TIS_CHECK_RUNTIME", "runc")
PODMAN = ["podman", "--runtime", RUNTIME]
# crun/runc may not raise limits here: ask for what the process already has.
ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
REGISTRY_FILE = "/etc/tis/check-registry.json"
DEADLINE = 180  # seconds for everything to become ready (migrations, demo data, on 2 cores)


def log(msg):
    print(f"run_rendered: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    r = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"run_rendered: {' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


# --- the rendered objects -----------------------------------------------------------------

def load(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    return by_kind


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- PostgreSQL: a primary and a streaming standby ----------------------------------------

class Postgres:
    def __init__(self, root):
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.root = root
        self.primary_port = free_port()
        self.standby_port = free_port()
        os.makedirs(root)
        self.as_pg = []
        if os.getuid() == 0:
            shutil.chown(root, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]

    def pg(self, *cmd):
        return run(self.as_pg + [os.path.join(self.bin, cmd[0]), *cmd[1:]])

    def start(self):
        primary = os.path.join(self.root, "primary")
        self.pg("initdb", "-D", primary, "-U", "postgres", "--auth-local=trust",
                "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        with open(os.path.join(primary, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.primary_port}\n"
                    f"unix_socket_directories = '{self.root}'\nwal_level = replica\n"
                    "max_wal_senders = 5\nhot_standby = on\nfsync = off\n")
        # The standby's replication connection first (pg_hba.conf: the first match wins).
        hba = os.path.join(primary, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write("host replication postgres 127.0.0.1/32 trust\n" + rules)
        self.pg("pg_ctl", "-D", primary, "-l", os.path.join(self.root, "primary.log"), "-w", "start")
        standby = os.path.join(self.root, "standby")
        self.pg("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                "-D", standby, "-R", "-X", "stream", "-c", "fast")
        with open(os.path.join(standby, "postgresql.auto.conf"), "a") as f:
            f.write(f"port = {self.standby_port}\n")
        self.pg("pg_ctl", "-D", standby, "-l", os.path.join(self.root, "standby.log"), "-w", "start")

    def sql(self, statement):
        self.pg("psql", "-h", self.root, "-p", str(self.primary_port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-qc", statement)

    def stop(self):
        for node in ("standby", "primary"):
            d = os.path.join(self.root, node)
            if os.path.isdir(d):
                subprocess.run(self.as_pg + [os.path.join(self.bin, "pg_ctl"), "-D", d, "-m",
                                             "immediate", "stop"], capture_output=True)


# --- rewriting the configuration to loopback -----------------------------------------------

class Rewriter:
    """Maps the cluster's names and ports to loopback: Service DNS names to the free port of
    the Deployment they select, CloudNativePG's -rw/-ro to the primary/standby, listeners to
    the free port of their section's process."""

    def __init__(self, objs, ports, pg):
        self.objs = objs
        self.ports = ports  # (deployment, container port) -> loopback port
        self.pg = pg
        self.registry = {}  # service -> addresses, for gateway.registry_file

    def service_port(self, host, port):
        """The loopback addresses behind `host:port` (a Service of the overlay)."""
        name = host[: -len(NAMESPACE_SUFFIX)] if host.endswith(NAMESPACE_SUFFIX) else host
        if name.endswith("-db-rw"):
            return [f"127.0.0.1:{self.pg.primary_port}"]
        if name.endswith("-db-ro"):
            return [f"127.0.0.1:{self.pg.standby_port}"]
        svc = next((s for s in self.objs.get("Service", []) if s["metadata"]["name"] == name), None)
        if svc is None:
            raise SystemExit(f"run_rendered: the configuration names {host}, which is no Service of the overlay")
        sp = next(p for p in svc["spec"]["ports"] if port in (p["port"], p.get("name")))
        addrs = []
        for dep in self.objs["Deployment"]:
            labels = dep["spec"]["template"]["metadata"]["labels"]
            if matches(svc["spec"].get("selector"), labels):
                cport = container_port(dep, sp["targetPort"])
                addrs.append(f"127.0.0.1:{self.ports[(dep['metadata']['name'], cport)]}")
        return addrs

    def url(self, value):
        u = urllib.parse.urlsplit(value)
        if u.scheme not in ("http", "https", "postgres", "postgresql") or not u.hostname:
            return value
        if u.hostname in ("127.0.0.1", "localhost") or not (u.hostname.endswith(NAMESPACE_SUFFIX) or "." not in u.hostname):
            return value
        default = {"http": 80, "https": 443, "postgres": 5432, "postgresql": 5432}[u.scheme]
        addrs = self.service_port(u.hostname, u.port or default)
        if len(addrs) != 1:
            raise SystemExit(f"run_rendered: {value} leads to {len(addrs)} addresses")
        netloc = (u.username + "@" if u.username else "") + addrs[0]
        return urllib.parse.urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))

    def walk(self, node, section=None):
        if isinstance(node, dict):
            if node.get("kind") == "dns" and "host" in node:
                addrs = self.service_port(node["host"], node["port"])
                # Kubernetes answers a headless Service's name with its ready pods' addresses;
                # here every pod is one loopback port, so the list is static (empty when the
                # Service selects no pod, as for an idle green pool).
                return {"kind": "static", "addrs": addrs}
            if node.get("kind") == "srv" and "name" in node:
                # _<port name>._<proto>.<service>…: the gateway's local registry stands in,
                # loaded from gateway.registry_file (SRV names a port by name; the overlays
                # use `dns` today, this keeps an `srv` discovery runnable).
                port_name, _, host = node["name"].split(".", 2)
                service = host.split(".")[0]
                self.registry[service] = self.service_port(host, port_name.lstrip("_"))
                return {"kind": "registry", "name": service}
            return {k: self.walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v, section) for v in node]
        if isinstance(node, str):
            return self.url(node)
        return node


def container_port(dep, port):
    if isinstance(port, int):
        return port
    for c in dep["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            if p.get("name") == port:
                return p["containerPort"]
    raise SystemExit(f"run_rendered: {dep['metadata']['name']} has no port {port}")


def rewrite_toml(text, rw, listeners):
    """`listeners`: (section, key) -> loopback address for that process's listener."""
    doc = tomllib.loads(text)
    for (section, key), addr in listeners.items():
        if section in doc and key in doc[section]:
            doc[section][key] = addr
    if "idp" in doc and "public_url" in doc["idp"]:
        doc["idp"]["public_url"] = "http://" + listeners[("idp", "listen")]
    doc = rw.walk(doc)
    if rw.registry and "gateway" in doc:
        doc["gateway"]["registry_file"] = REGISTRY_FILE
    return tomli_w.dumps(doc)


# --- the check -----------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_get(url, token=None, timeout=5, follow=True):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def selects(selector, labels):
    """A label selector (matchLabels and matchExpressions In/NotIn/Exists) on pod labels."""
    exprs = {
        "In": lambda v, values: v in values,
        "NotIn": lambda v, values: v not in values,
        "Exists": lambda v, _: v is not None,
        "DoesNotExist": lambda v, _: v is None,
    }
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()) and all(
        exprs[e["operator"]](labels.get(e["key"]), e.get("values", [])) for e in selector.get("matchExpressions") or [])


def check_metrics(objs, deployments, ports, gw_port):
    """Metrics have one place per component, the one its PodMonitor scrapes: every TIS
    Deployment (the local identity provider aside) is selected by a PodMonitor, whose port and
    path serve Prometheus text; the gateway's public port serves none (`/metrics` there would
    be the web application's, to anyone). Returns the number of failures."""
    failures, scraped = 0, set()
    for pm in objs.get("PodMonitor", []):
        for dep in deployments:
            name = dep["metadata"]["name"]
            if not selects(pm["spec"]["selector"], dep["spec"]["template"]["metadata"]["labels"]):
                continue
            for ep in pm["spec"]["podMetricsEndpoints"]:
                path = ep.get("path", "/metrics")
                status, content = http_get(f"http://127.0.0.1:{ports[(name, container_port(dep, ep['port']))]}{path}")
                good = status == 200 and b"# TYPE process_resident_memory_bytes gauge" in content
                log(f"PodMonitor {pm['metadata']['name']}: {name} port {ep['port']} {path}: {status}"
                    f"{'' if good else ' (no Prometheus text with process_resident_memory_bytes)'}")
                failures += not good
                scraped.add(name)
    unscraped = {d["metadata"]["name"] for d in deployments} - scraped - {"idp"}
    if unscraped:
        log(f"no PodMonitor scrapes {', '.join(sorted(unscraped))}")
        failures += 1
    status, content = http_get(f"http://127.0.0.1:{gw_port}/metrics", follow=False)
    log(f"GET /metrics on the gateway's public port: {status}")
    if b"# TYPE " in content:
        log("  the public port serves metrics: they belong on the admin port and the services' own")
        failures += 1
    return failures


def scrape(port, name):
    """The samples of metric `name` on http://127.0.0.1:PORT/metrics: [(labels, value)]."""
    _, text = http_get(f"http://127.0.0.1:{port}/metrics")
    samples = []
    for line in text.decode().splitlines():
        m = re.fullmatch(rf'{name}(?:{{(.*)}})? (\S+)', line)
        if m:
            samples.append((dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or "")), float(m.group(2))))
    return samples


# A request that each service's blue/green shift is checked with (through the gateway).
SHIFT_PATHS = {"reference": "/reference/api/sites?size=5", "profile": "/profile/api/userinfo",
               "tcs": "/tcs/api/people?size=5", "web": "/"}


def check_bluegreen(deployments, cm_files, ports, gw_port, token, requests=100):
    """A blue/green release done for real, for each service with a green Deployment in the
    render (docs/operations-kubernetes.md, "Blue/green"): the weights in the mounted
    routes.toml changed as an operator changes the ConfigMap (blue/green 100/0, 90/10, 50/50,
    0/100, then back to 100/0: a roll back), each time waiting until the gateway's admin
    /metrics shows the new weight, then `requests` requests through the gateway: every answer
    must be good, and the pools that served them (mesh_endpoint_requests_total by pool) exactly
    those with a weight. Returns the number of failures."""
    services = [d["metadata"]["name"].removesuffix("-green") for d in deployments if d["metadata"]["name"].endswith("-green")]
    if not services:
        return 0
    routes = cm_files["tis-routes"]["routes.toml"]
    gw = next(d for d in deployments if d["metadata"]["name"] == "gateway")
    admin = ports[("gateway", container_port(gw, "admin"))]
    failures = 0
    for svc in services:
        path = SHIFT_PATHS[svc]
        public = path == "/"
        for blue, green in ((100, 0), (90, 10), (50, 50), (0, 100), (100, 0)):
            with open(routes, "rb") as f:
                doc = tomllib.load(f)
            doc["services"][svc]["pools"]["blue"]["weight"] = blue
            doc["services"][svc]["pools"]["green"]["weight"] = green
            # In place (the container sees the host file through a bind mount of it).
            with open(routes, "r+") as f:
                f.write(tomli_w.dumps(doc))
                f.truncate()
            deadline = time.monotonic() + 30
            while True:
                weights = {l.get("pool"): v for l, v in scrape(admin, "gateway_pool_weight") if l.get("service") == svc}
                if weights == {"blue": blue, "green": green}:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"run_rendered: the gateway did not take weights {blue}/{green} for {svc}: {weights}")
                time.sleep(0.2)

            def served():
                counts = {"blue": 0.0, "green": 0.0}
                for labels, value in scrape(admin, "mesh_endpoint_requests_total"):
                    pool = labels.get("service", "").removeprefix(f"{svc}/")
                    if pool in counts and labels["service"] == f"{svc}/{pool}":
                        counts[pool] += value
                return counts

            before = served()
            statuses = [http_get(f"http://127.0.0.1:{gw_port}{path}", None if public else token, follow=False)[0]
                        for _ in range(requests)]
            after = served()
            share = {pool: int(after[pool] - before[pool]) for pool in after}
            good = all(st in ((200, 302, 303) if public else (200,)) for st in statuses)
            right = all((share[pool] > 0) == (weight > 0) for pool, weight in (("blue", blue), ("green", green)))
            log(f"blue/green {svc} {blue}/{green}: {requests} requests, statuses {sorted(set(statuses))}, "
                f"served by blue {share['blue']}, green {share['green']}")
            if not (good and right):
                failures += 1
                log("  wrong: every answer must be good and only the pools with a weight serve")
    return failures


def main():
    rendered = sys.argv[1]
    objs = load(rendered)
    deployments = objs["Deployment"]
    work = tempfile.mkdtemp(prefix="tis-check-")
    os.chmod(work, 0o755)
    containers = []
    pg = Postgres(os.path.join(work, "pg"))
    ok = False
    try:
        # Every container port of every Deployment gets a loopback port of its own.
        ports = {}
        for dep in deployments:
            for c in dep["spec"]["template"]["spec"]["containers"]:
                for p in c.get("ports", []):
                    ports[(dep["metadata"]["name"], p["containerPort"])] = free_port()

        # Secrets: what the platform would hold, made up here.
        secrets_dir = os.path.join(work, "secrets")
        os.makedirs(secrets_dir)
        made = {}
        key = os.path.join(secrets_dir, "principal.key")
        run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key])
        run(["openssl", "pkey", "-in", key, "-pubout", "-out", key[:-4] + ".pub"])
        made["tis-principal"] = {"principal.key": key, "principal.pub": key[:-4] + ".pub"}
        token = os.path.join(secrets_dir, "admin.token")
        with open(token, "w") as f:
            f.write(secrets.token_hex(32))
        made["tis-gateway-admin"] = {"admin.token": token}

        pg.start()
        for cluster in objs.get("Cluster", []):
            init = cluster["spec"]["bootstrap"]["initdb"]
            password = secrets.token_hex(16)
            pg.sql(f"CREATE ROLE \"{init['owner']}\" LOGIN PASSWORD '{password}'")
            pg.sql(f"CREATE DATABASE \"{init['database']}\" OWNER \"{init['owner']}\"")
            path = os.path.join(secrets_dir, f"{cluster['metadata']['name']}-app.password")
            with open(path, "w") as f:
                f.write(password)
            made[f"{cluster['metadata']['name']}-app"] = {"password": path, "username": init["owner"]}
        log(f"PostgreSQL primary 127.0.0.1:{pg.primary_port}, standby 127.0.0.1:{pg.standby_port}, "
            f"databases {', '.join(c['spec']['bootstrap']['initdb']['database'] for c in objs.get('Cluster', []))}")

        rw = Rewriter(objs, ports, pg)
        # Each process's own listeners, by section: the port of its Deployment. A second
        # Deployment of a section (a green track) shares the file: its listeners are given in
        # its environment instead (start()), as its pods' own addresses would differ.
        listeners = {}
        for dep in deployments:
            if dep["metadata"]["name"].endswith("-green"):
                continue
            listeners.update(own_listeners(dep, ports))

        # ConfigMaps, every file rewritten.
        cm_files = {}
        for cm in objs.get("ConfigMap", []):
            files = {}
            d = os.path.join(work, "cm", cm["metadata"]["name"])
            os.makedirs(d)
            for k, v in cm.get("data", {}).items():
                if k.endswith(".toml"):
                    v = rewrite_toml(v, rw, listeners)
                p = os.path.join(d, k)
                with open(p, "w") as f:
                    f.write(v)
                os.chmod(p, 0o644)
                files[k] = p
            cm_files[cm["metadata"]["name"]] = files
        for p in glob.glob(os.path.join(work, "cm", "*", "tis.toml")):
            log(f"tis.toml for loopback: {p}")
        registry = os.path.join(work, "registry.json")
        with open(registry, "w") as f:
            json.dump(rw.registry, f)
        os.chmod(registry, 0o644)
        made["check-registry"] = registry

        # Start order: the identity provider, then the services, then the gateway (in a
        # cluster they start together and retry; here the order only saves time).
        order = {"idp": 0, "gateway": 2}
        for dep in sorted(deployments, key=lambda d: order.get(d["metadata"]["name"], 1)):
            containers.append(start(dep, cm_files, made, ports, work))
        wait_ready(deployments, ports, containers)

        # A real token from the identity provider, and requests through the gateway.
        idp = next(d for d in deployments if d["metadata"]["name"] == "idp")
        idp_port = ports[("idp", container_port(idp, "http"))]
        gw = next(d for d in deployments if d["metadata"]["name"] == "gateway")
        gw_port = ports[("gateway", container_port(gw, "http"))]
        body = urllib.parse.urlencode({"grant_type": "password", "client_id": "tis-ui",
                                       "username": "admin", "password": "tis"}).encode()
        with urllib.request.urlopen(f"http://127.0.0.1:{idp_port}/realms/lin/protocol/openid-connect/token",
                                    data=body, timeout=10) as r:
            token = json.load(r)["access_token"]
        log("got an access token for admin from the identity provider's token endpoint")
        status, _ = http_get(f"http://127.0.0.1:{gw_port}/reference/api/sites")
        if status != 401:
            raise SystemExit(f"run_rendered: without a token the gateway answered {status}, not 401")
        failures = 0
        for path in ("/profile/api/userinfo", "/reference/api/sites?size=5", "/tcs/api/people?size=5"):
            deadline = time.monotonic() + 30
            while True:
                status, content = http_get(f"http://127.0.0.1:{gw_port}{path}", token)
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            log(f"GET {path} through the gateway with the token: {status} ({len(content)} bytes)")
            if status != 200:
                failures += 1
                log(f"  body: {content[:300]!r}")
        if any(d["metadata"]["name"] == "web" for d in deployments):
            # The web application's public route: no token needed; a page or a redirect to
            # sign in (not followed: it leads to the public URL).
            status, content = http_get(f"http://127.0.0.1:{gw_port}/", follow=False)
            log(f"GET / through the gateway (the web application, no token): {status}")
            if status not in (200, 302, 303):
                failures += 1
                log(f"  body: {content[:300]!r}")
        status, content = http_get(f"http://127.0.0.1:{gw_port}/api/status")
        log(f"status page: {status} {content[:200]!r}")
        failures += check_metrics(objs, deployments, ports, gw_port)
        failures += check_bluegreen(deployments, cm_files, ports, gw_port, token)
        if failures:
            raise SystemExit(f"run_rendered: {failures} check(s) failed (above)")
        ok = True
        print("run_rendered: 1 passed, 0 failed")
    finally:
        if not ok:
            for name in containers:
                out = subprocess.run(PODMAN + ["logs", "--tail", "30", name], capture_output=True, text=True)
                print(f"--- last lines of {name}:\n{out.stdout}{out.stderr}", file=sys.stderr)
        if os.environ.get("TIS_CHECK_KEEP") != "1":
            for name in containers:
                r = subprocess.run(PODMAN + ["rm", "-f", "-t", "1", name], capture_output=True, text=True)
                if r.returncode != 0:
                    log(f"could not remove {name}: {r.stderr.strip()}")
            pg.stop()
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work} and containers {' '.join(containers)}")
    return 0 if ok else 1


def own_listeners(dep, ports):
    """(section, key) -> the loopback address of `dep`'s listeners (listen, admin_listen)."""
    name = dep["metadata"]["name"]
    c = dep["spec"]["template"]["spec"]["containers"][0]
    section = c["args"][1] if c["args"][0] == "serve" else c["args"][0]
    keys = ("listen", "admin_listen")
    return {(section, k): f"127.0.0.1:{ports[(name, p['containerPort'])]}" for k, p in zip(keys, c["ports"])}


def start(dep, cm_files, made, ports, work):
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    if not psc.get("runAsNonRoot") or not psc.get("runAsUser"):
        raise SystemExit(f"run_rendered: {dep['metadata']['name']} does not run as a non-root user")
    name = f"tis-check-{dep['metadata']['name']}-{os.getpid()}"
    cmd = PODMAN + ["run", "-d", "--name", name, "--network", "host", *ULIMITS,
                    "--user", f"{psc['runAsUser']}:{psc.get('runAsGroup', psc['runAsUser'])}"]
    if csc.get("readOnlyRootFilesystem"):
        cmd.append("--read-only")
    if "ALL" in csc.get("capabilities", {}).get("drop", []):
        cmd += ["--cap-drop", "ALL"]
    if csc.get("allowPrivilegeEscalation") is False:
        cmd += ["--security-opt", "no-new-privileges"]
    for e in c.get("env", []):
        if "value" in e:
            cmd += ["--env", f"{e['name']}={e['value']}"]
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            if ref["key"] not in made.setdefault(ref["name"], {}):
                # A secret the platform provides (the web client's secret): any value will do.
                path = os.path.join(work, "secrets", f"{ref['name']}.{ref['key']}")
                with open(path, "w") as f:
                    f.write(secrets.token_hex(16))
                made[ref["name"]][ref["key"]] = path
            with open(made[ref["name"]][ref["key"]]) as f:
                cmd += ["--env", f"{e['name']}={f.read()}"]
    if dep["metadata"]["name"].endswith("-green"):
        for (section, key), addr in own_listeners(dep, ports).items():
            cmd += ["--env", f"TIS_{section.upper()}__{key.upper()}={addr}"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    uid = psc["runAsUser"]
    for m in c.get("volumeMounts", []):
        v = volumes[m["name"]]
        if "configMap" in v:
            files = cm_files[next(n for n in cm_files if n == v["configMap"]["name"])]
            if "subPath" in m:
                cmd += ["-v", f"{files[m['subPath']]}:{m['mountPath']}:ro"]
            else:
                for k, p in files.items():
                    cmd += ["-v", f"{p}:{m['mountPath']}/{k}:ro"]
        elif "secret" in v:
            items = v["secret"].get("items") or [{"key": k, "path": k} for k in made[v["secret"]["secretName"]]]
            for it in items:
                src = made[v["secret"]["secretName"]][it["key"]]
                # The Secret volume's defaultMode, owned by the pod's fsGroup as the kubelet does.
                dst = os.path.join(work, "mounts", dep["metadata"]["name"], it["path"])
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(src, dst)
                os.chown(dst, uid, psc.get("fsGroup", uid))
                os.chmod(dst, v["secret"].get("defaultMode", 0o644))
                cmd += ["-v", f"{dst}:{m['mountPath']}/{it['path']}:ro"]
        elif "emptyDir" in v:
            # U: owned by the container's user, as an emptyDir with fsGroup is writable by it.
            cmd += ["--tmpfs", f"{m['mountPath']}:rw,mode=0700,U"]
        else:
            raise SystemExit(f"run_rendered: volume {m['name']} of a kind this check does not know")
    cmd += ["-v", f"{made['check-registry']}:{REGISTRY_FILE}:ro"]
    cmd += [c["image"], *c.get("args", [])]
    log(f"starting {dep['metadata']['name']}: {c['image']} {' '.join(c.get('args', []))}")
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return name


def wait_ready(deployments, ports, containers):
    """Each container's readiness probe, polled until 200, with a deadline; a container that
    exits fails the check at once."""
    deadline = time.monotonic() + DEADLINE
    pending = {}
    for dep, name in zip(sorted(deployments, key=lambda d: {"idp": 0, "gateway": 2}.get(d["metadata"]["name"], 1)), containers):
        probe = dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]
        port = ports[(dep["metadata"]["name"], container_port(dep, probe["port"]))]
        pending[name] = f"http://127.0.0.1:{port}{probe['path']}"
    while pending:
        for name, url in list(pending.items()):
            state = run(PODMAN + ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name]).stdout.split()
            if state[0] != "running":
                raise SystemExit(f"run_rendered: {name} is {state[0]} (exit code {state[1]})")
            try:
                status, _ = http_get(url, timeout=1)
            except OSError:
                status = None
            if status == 200:
                log(f"{name} ready ({url})")
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"run_rendered: not ready after {DEADLINE} s: {', '.join(pending)}")
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
