"""docker-compose.yml, Dockerfile, .env.example and README's "Running on a cluster",
checked without a Docker engine: the compose file parses, every command in it (and in the
README section) uses commands and flags that the real ``poolnas`` and ``ray`` CLIs accept,
Ray's token authentication reaches every Ray process from one place, and no secret is
committed."""

from __future__ import annotations

import re
import shlex
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from _loopback import LoopbackCluster

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"postgres", "ray-head", "ray-worker", "dashboard", "sweep"}
SECRET_KEY = re.compile(r"PASSWORD|TOKEN|SECRET")
PLACEHOLDER = "CHANGE-ME"
# $$ (a literal $), ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR
_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
                  r"|\$(?P<bare>[A-Za-z_]\w*)")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines skipped)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution; a required variable that is unset raises KeyError."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg")
        value = env.get(name)
        unset = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":-", "-") and unset:
            return arg or ""
        if op in (":?", "?") and unset:
            raise KeyError(f"{name}: {arg}")
        return value or ""
    return _VAR.sub(sub, text)


def resolve(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(v, env) for v in node]
    if isinstance(node, dict):
        return {k: resolve(v, env) for k, v in node.items()}
    return node


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document (comments are gone already)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    return []


@cache
def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@cache
def example_env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def compose() -> dict[str, Any]:
    """The compose file as Docker Compose sees it with .env copied from .env.example."""
    return resolve(raw_compose(), example_env())


def argv_of(service: dict[str, Any]) -> list[str]:
    """What the container runs: entrypoint + command (both lists in our file)."""
    entry, command = service.get("entrypoint", []), service.get("command", [])
    assert isinstance(entry, list) and isinstance(command, list), "use the exec (list) form"
    return [*entry, *command]


def cluster_doc() -> str:
    """README's "Running on a cluster" section."""
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"^## Running on a cluster\n.*?(?=^## |\Z)", readme, re.S | re.M)
    assert m, "README.md has no '## Running on a cluster' section"
    return m.group(0)


def doc_commands(prefix: str) -> list[list[str]]:
    """Commands in the section's ```bash blocks that start with ``prefix``."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", cluster_doc(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if argv[: len(prefix.split())] == prefix.split():
                found.append(argv)
    return found


def ray_join_starts() -> list[list[str]]:
    """The `ray start` line of docker/ray-join.sh, variables as Compose would fill them."""
    script = (ROOT / "docker" / "ray-join.sh").read_text()
    lines = [ln for ln in script.splitlines() if ln.strip().startswith("ray start")]
    env = {"RAY_ADDRESS": compose()["services"]["sweep"]["environment"]["RAY_ADDRESS"]}
    return [shlex.split(interpolate(ln, env)) for ln in lines]


# -- the compose file ------------------------------------------------------------------------

def test_compose_parses_with_the_services_and_volumes() -> None:
    doc = compose()
    assert set(doc["services"]) == SERVICES
    assert {"pgdata", "results"} <= set(doc["volumes"])
    pg = doc["services"]["postgres"]
    assert "pgdata:/var/lib/postgresql/data" in pg["volumes"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert doc["services"]["sweep"]["profiles"] == ["sweep"]
    for name in ("ray-head", "ray-worker", "sweep"):  # Ray results on the shared volume
        assert any(v.startswith("results:") for v in doc["services"][name]["volumes"]), name


def test_every_variable_comes_from_env_example_or_has_a_default() -> None:
    used = {m.group("name") or m.group("bare"): m.group("op")
            for text in strings(raw_compose()) for m in _VAR.finditer(text) if m.group(0) != "$$"}
    env = example_env()
    for name, op in used.items():
        assert name in env or op in (":-", "-"), f"${{{name}}} is neither in .env.example nor defaulted"
    assert set(env) <= set(used), f"unused in docker-compose.yml: {set(env) - set(used)}"
    compose()  # every required (:?) variable is set by .env.example


def test_worker_reserves_gpus_and_can_scale() -> None:
    worker = compose()["services"]["ray-worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale ray-worker=N
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


def test_only_the_dashboard_is_published_and_on_loopback() -> None:
    services = compose()["services"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert set(published) == {"dashboard"}
    (port,) = published["dashboard"]
    host_ip, host_port, container_port = port.split(":")
    assert host_ip == "127.0.0.1" and host_port == example_env()["DASHBOARD_PORT"]
    args = poolnas_args(argv_of(services["dashboard"]))
    assert args.command == "dashboard" and args.host == "0.0.0.0"
    assert args.port == int(container_port)


def test_token_auth_reaches_every_ray_process_from_one_place() -> None:
    raw, services = raw_compose()["services"], compose()["services"]
    ray_services = {name for name, s in services.items()
                    if argv_of(s)[:1] in (["ray"], ["ray-join"])}
    assert ray_services == {"ray-head", "ray-worker", "sweep"}
    for name in ray_services:
        env = services[name]["environment"]
        # Ray 2.60: a joining node or a driver sends no token unless RAY_AUTH_MODE=token.
        assert env["RAY_AUTH_MODE"] == "token", name
        assert env["RAY_AUTH_TOKEN"] == example_env()["RAY_AUTH_TOKEN"], name
        assert raw[name]["environment"]["RAY_AUTH_TOKEN"].startswith("${RAY_AUTH_TOKEN:?"), name


# -- commands against the real CLIs --------------------------------------------------------

def poolnas_args(argv: list[str]) -> Any:
    """Parse a `poolnas ...` command line with the real parser; fail on what it rejects."""
    from poolnas.cli import build_parser

    assert argv[0] == "poolnas", argv
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"poolnas rejects {shlex.join(argv)} (exit {exc.code})")


def poolnas_command_lines() -> list[tuple[str, list[str]]]:
    found = []
    for name, service in compose()["services"].items():
        argv = argv_of(service)
        if "poolnas" in argv:
            found.append((name, argv[argv.index("poolnas"):]))
    found += [("README", argv) for argv in doc_commands("poolnas")]
    found += [("README", argv[argv.index("poolnas"):]) for argv in doc_commands("docker compose")
              if "poolnas" in argv]
    return found


def test_poolnas_commands_exist() -> None:
    lines = poolnas_command_lines()
    assert {where for where, _ in lines} >= {"dashboard", "sweep", "README"}
    for _where, argv in lines:
        poolnas_args(argv)
    sweep = poolnas_args(argv_of(compose()["services"]["sweep"])[1:])
    assert sweep.command == "sweep" and sweep.ray_address == "ray-head:6379"


@cache
def ray_start_help() -> str:
    """`ray start --help`, from the click command that the `ray` executable runs."""
    import click
    from ray.scripts.scripts import start

    return start.get_help(click.Context(start, info_name="start"))


def ray_start_lines() -> list[tuple[str, list[str]]]:
    found = [(name, argv_of(s)) for name, s in compose()["services"].items()
             if argv_of(s)[:2] == ["ray", "start"]]
    found += [("ray-join.sh", argv) for argv in ray_join_starts()]
    found += [("README", argv) for argv in doc_commands("ray start")]
    return found


def test_ray_start_commands_use_real_flags() -> None:
    from ray.scripts.scripts import start

    lines = ray_start_lines()
    assert {where for where, _ in lines} == {"ray-head", "ray-worker", "ray-join.sh", "README"}
    listed = set(re.findall(r"^\s+(--[a-z0-9-]+)", ray_start_help(), re.M))
    for where, argv in lines:
        flags = {a.split("=", 1)[0] for a in argv[2:] if a.startswith("--")}
        assert flags <= listed, f"{where}: `ray start --help` lists no {flags - listed}"
        start.make_context("start", argv[2:])  # and the values have the right types


def test_readme_ray_steps_are_the_ones_the_test_runs() -> None:
    """Every flag of README's `ray start` lines is used by the multi-node test's nodes."""
    cluster = LoopbackCluster(temp_root=Path("/nonexistent"), port=6379)
    tested = {"head": cluster.head_args(), "worker": cluster.worker_args("w")}
    readme = doc_commands("ray start")
    kinds = {"head" if "--head" in argv else "worker" for argv in readme}
    assert kinds == {"head", "worker"}
    for argv in readme:
        kind = "head" if "--head" in argv else "worker"
        flags = {a.split("=", 1)[0] for a in argv[2:]}
        assert flags <= {a.split("=", 1)[0] for a in tested[kind]}, (kind, flags)


def test_readme_compose_commands_name_real_services() -> None:
    services = compose()["services"]
    named: set[str] = set()
    for argv in doc_commands("docker compose"):
        named |= {a.split("=")[0] for a in argv} & set(services)  # also --scale ray-worker=3
        if "--profile" in argv:
            profile = argv[argv.index("--profile") + 1]
            service = [a for a in argv[argv.index("run") + 1:] if not a.startswith("-")][0]
            assert services[service].get("profiles") == [profile], service
    assert {"sweep", "ray-worker", "dashboard"} <= named


# -- images and secrets ----------------------------------------------------------------------

def test_dockerfile_is_slim_python_and_drops_root() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(re.search(r"pip install \.(\s|$)", ln) for ln in lines)
    assert "COPY docker/ray-join.sh /usr/local/bin/ray-join" in lines
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored  # no secrets, no 5 GB venv in the context


def test_ray_join_refuses_to_run_without_an_address(tmp_path: Path) -> None:
    script = str(ROOT / "docker" / "ray-join.sh")
    assert subprocess.run(["sh", "-n", script]).returncode == 0
    res = subprocess.run(["sh", script, "true"], capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert res.returncode == 2 and "usage" in res.stderr


def test_no_secret_is_committed() -> None:
    from sqlalchemy.engine import make_url

    raw = raw_compose()
    for name, service in raw["services"].items():
        env = service.get("environment") or {}
        assert isinstance(env, dict), name
        for key, value in env.items():
            if SECRET_KEY.search(key):  # a required variable: no default value to leak
                assert re.fullmatch(rf"\$\{{{key}:\?[^}}]*\}}", str(value)), (name, key, value)
    # The storage URLs' password is $POSTGRES_PASSWORD and nothing else.
    env = {**example_env(), "POSTGRES_PASSWORD": "sentinel-pw"}
    urls = [v for v in strings(resolve(raw, env)) if v.startswith("postgresql")]
    assert urls and all(make_url(u).password == "sentinel-pw" for u in urls), urls
    for key, value in example_env().items():
        if SECRET_KEY.search(key):
            assert value == PLACEHOLDER, f".env.example: {key} must be {PLACEHOLDER}"
    git = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    if git.returncode == 128:
        pytest.skip("not a git checkout")
    assert git.returncode == 0, ".env is not git-ignored"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT)
    assert example.returncode == 1, ".env.example must be committed"
