#!/usr/bin/env python3
"""compose.yaml and the Dockerfile, checked without a container engine (none runs in CI).

compose.yaml: `docker-compose config` (Debian's docker-compose, which validates against the
Compose schema offline) accepts it with the required variables set and refuses it, naming the
variable, without each; then the resolved file is checked for what the README promises:
leadscore from the Dockerfile beside PostgreSQL 15, both with health checks, leadscore waiting
for a healthy database whose URL names that service, the admin key from the environment, the
front door's port published, the data in a volume.

Dockerfile: dockerfile-utils (npm, pinned in scripts/install_deps.sh) finds no error; it starts
from Debian 12 and installs the package file `make package` writes; .dockerignore lets in what
it copies; the entrypoint runs the command lines of the package's systemd units.

    package_compose_test.py SOURCE_DIR BUILD_DIR
"""
import fnmatch
import os
import re
import subprocess
import sys

import yaml

source_dir, build_dir = sys.argv[1], sys.argv[2]
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def compose_config(env_overrides):
    env = {k: v for k, v in os.environ.items()
           if k not in ("POSTGRES_PASSWORD", "LEADSCORE_ADMIN_KEY", "LEADSCORE_PORT", "LEADSCORE_BIND")}
    env.update(env_overrides)
    return subprocess.run(["docker-compose", "-f", os.path.join(source_dir, "compose.yaml"),
                           "--project-directory", source_dir, "config"],
                          env=env, capture_output=True, text=True)


# The compose file: valid, and refused without each required variable.
full = {"POSTGRES_PASSWORD": "pg-secret", "LEADSCORE_ADMIN_KEY": "lsk_compose_test"}
run = compose_config(full)
if run.returncode != 0:
    print(run.stdout + run.stderr, file=sys.stderr)
    sys.exit("FAILED: docker-compose config refuses compose.yaml")
for missing in full:
    partial = {k: v for k, v in full.items() if k != missing}
    refused = compose_config(partial)
    check(refused.returncode != 0 and missing in refused.stderr,
          f"compose.yaml is accepted without {missing}, or the refusal does not name it")

resolved = yaml.safe_load(run.stdout)
services = resolved.get("services", {})
check(set(services) == {"db", "leadscore"}, f"services are {sorted(services)}, not db and leadscore")
db, app = services.get("db", {}), services.get("leadscore", {})

check(str(db.get("image", "")).startswith("postgres:15"), "db is not PostgreSQL 15")
check(db.get("environment", {}).get("POSTGRES_PASSWORD") == "pg-secret",
      "the database password does not come from POSTGRES_PASSWORD")
check(any(str(v).endswith(":/var/lib/postgresql/data:rw") and not str(v).startswith("/")
          for v in db.get("volumes", [])), "the database's data is not in a named volume")
for name, service in (("db", db), ("leadscore", app)):
    test = service.get("healthcheck", {}).get("test")
    check(bool(test), f"{name} has no health check")
check("pg_isready" in " ".join(db.get("healthcheck", {}).get("test", [])),
      "the database's health check is not pg_isready")
check("/health" in " ".join(app.get("healthcheck", {}).get("test", [])),
      "leadscore's health check does not ask /health")

check(os.path.realpath(app.get("build", {}).get("context", "")) == os.path.realpath(source_dir),
      "leadscore is not built from the Dockerfile beside compose.yaml")
check(app.get("depends_on", {}).get("db", {}).get("condition") == "service_healthy",
      "leadscore does not wait for a healthy database")
environment = app.get("environment", {})
check(environment.get("LEADSCORE_ADMIN_KEY") == "lsk_compose_test",
      "the admin key does not come from LEADSCORE_ADMIN_KEY")
check(re.fullmatch(r"postgresql://leadscore:pg-secret@db:5432/leadscore",
                   environment.get("DATABASE_URL", "")) is not None,
      f"DATABASE_URL does not name the db service: {environment.get('DATABASE_URL')}")
ports = [str(p) for p in app.get("ports", [])]
check(ports == ["127.0.0.1:8000:8000/tcp"], f"leadscore publishes {ports}, not the front door's 8000")
check(set(resolved.get("volumes", {})) == {"pgdata", "leadscore-config"},
      f"volumes are {sorted(resolved.get('volumes', {}))}")

# The Dockerfile.
linter = os.path.join(source_dir, ".tools", "node_modules", ".bin", "dockerfile-utils")
dockerfile = os.path.join(source_dir, "Dockerfile")
if not os.access(linter, os.X_OK):
    sys.exit(f"FAILED: {linter} is missing (scripts/install_deps.sh installs it)")
lint = subprocess.run([linter, "lint", dockerfile], capture_output=True, text=True)
check(lint.returncode == 0, "dockerfile-utils finds errors in the Dockerfile:\n" + lint.stdout)

text = open(dockerfile).read()
instructions = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
check(instructions[0] == "FROM debian:12-slim", f"the image does not start from Debian 12: {instructions[0]}")
copies = [line.split()[1:-1] for line in instructions if line.startswith("COPY ")]
copied = [source for sources in copies for source in sources]
check("build/leadscore_*.deb" in copied, "the Dockerfile does not copy the package from build/")
# The file CPack writes: leadscore_VERSION_ARCH.deb (CPACK_DEBIAN_FILE_NAME DEB-DEFAULT).
cpack_config = open(os.path.join(build_dir, "CPackConfig.cmake")).read()
version = re.search(r'set\(CPACK_PACKAGE_VERSION "([^"]+)"\)', cpack_config).group(1)
arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
check(fnmatch.fnmatch(f"build/leadscore_{version}_{arch}.deb", "build/leadscore_*.deb"),
      "the Dockerfile's pattern does not match the package file name")
check(re.search(r"CPACK_DEBIAN_FILE_NAME \"DEB-DEFAULT\"", cpack_config) is not None,
      "the package file is not named leadscore_VERSION_ARCH.deb")

# .dockerignore lets in exactly what the Dockerfile copies (its last matching line decides).
rules = [line.strip() for line in open(os.path.join(source_dir, ".dockerignore"))
         if line.strip() and not line.startswith("#")]


def ignored(path):
    result = False
    for rule in rules:
        negate = rule.startswith("!")
        if fnmatch.fnmatch(path, rule.lstrip("!")):
            result = not negate
    return result


for source in copied:
    example = source.replace("*", f"{version}_{arch}")
    check(not ignored(example), f".dockerignore leaves out {source}")
check(ignored("engine/domain/stage_machine.cpp"), ".dockerignore sends the sources to the engine")

# The entrypoint runs what the systemd units run.
entrypoint = open(os.path.join(source_dir, "packaging", "docker-entrypoint.sh")).read()
defaults = {'"$config"': "/etc/leadscore/leadscore.yaml",
            '"$front_door_config"': "/etc/leadscore/nginx.conf"}
check('config=/etc/leadscore/leadscore.yaml\n' in entrypoint and
      'front_door_config=${LEADSCORE_FRONT_DOOR_CONFIG:-/etc/leadscore/nginx.conf}\n' in entrypoint,
      "the entrypoint's config files are not the package's")
for unit, wanted in (("leadscore.service", '/usr/bin/leadscore --config "$config" serve'),
                     ("leadscore-front-door.service", '/usr/sbin/nginx -e stderr -c "$front_door_config"')):
    exec_start = re.search(r"^ExecStart=(.*)$",
                           open(os.path.join(source_dir, "packaging", unit)).read(), re.M).group(1)
    expanded = wanted
    for variable, value in defaults.items():
        expanded = expanded.replace(variable, value)
    check(exec_start == expanded, f"{unit} runs {exec_start}, the entrypoint {expanded}")
    check(wanted in entrypoint, f"the entrypoint does not run {wanted}")
check("EXPOSE 8000" in instructions, "the image does not expose the front door's port 8000")

for failure in failures:
    print("FAILED:", failure, file=sys.stderr)
if failures:
    sys.exit(1)
print("compose.yaml and the Dockerfile pass: docker-compose config, dockerfile-utils lint, structure")
