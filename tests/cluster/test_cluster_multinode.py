"""A real multi-node Ray cluster on loopback (README, "Running on a cluster"): a head and a
worker node started with ``ray start``, token authentication on; a node without the
token is refused; ``poolnas sweep --ray-address`` with PostgreSQL storage spreads its
trials over both nodes and records where each ran."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _loopback import (
    POOLNAS,
    PROBE,
    LoopbackCluster,
    node_port_flags,
    nodes_that_ran,
    ray_env,
)
from fixtures_postgres import PostgresServer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("case", ["wrong-token", "token-without-auth-mode"])
def test_node_without_the_token_is_refused(ray_cluster: LoopbackCluster, tmp_path: Path,
                                           case: str) -> None:
    if case == "wrong-token":
        env = ray_env("0" * 64)
    else:  # the right token, but RAY_AUTH_MODE unset: Ray sends no token at all
        env = ray_env(ray_cluster.token, mode=None)
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token to fall back on
    env["RAY_gcs_server_port_wait_time_s"] = "2"  # give up after 2 s instead of 20
    res = ray_cluster.ray_start(
        [f"--address={ray_cluster.address}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
         f"--temp-dir={ray_cluster.temp_root / 'refused'}", *node_port_flags()],
        env=env, timeout=60)
    assert res.returncode != 0
    # Refused by the head (the GCS answers InvalidAuthToken), not stopped by a local check.
    assert "InvalidAuthToken" in res.output, res.output[-2000:]
    assert ray_cluster.processes(res.pgid) == []  # no raylet of it left running


def test_tasks_run_on_both_nodes(ray_cluster: LoopbackCluster) -> None:
    # Exactly the head and the worker: also no refused node (the test above) ever joined.
    out = subprocess.run([sys.executable, "-c", PROBE, ray_cluster.address, "4"],
                         env=ray_cluster.env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(seen["nodes"]) == 2
    assert set(seen["ran_on"]) == set(seen["nodes"])


SPACE = textwrap.dedent("""\
    study: cluster-loopback
    objective: {metric: val_acc, mode: max}
    sampler: random
    trials: 4
    scheduler: {type: fifo}
    resources: {cpu: 1, gpu: 0}
    base:
      model: {arch: resnet20, num_classes: 10, in_channels: 1}
      trainer: {dataset: digits, epochs: 1, batch_size: 32, train_subset: 64, test_subset: 64,
                recipe: fast, device: cpu, num_threads: 1}
    space:
      attention.pooling: {choice: [gap, max]}
      attention.reduction: {choice: [4, 8]}
""")


@dataclass
class SweepRun:
    trials: list[Any]  # optuna FrozenTrials
    output: str  # the command's stdout and stderr
    password: str
    ran_on: set[str]  # nodes whose logs show a Tune trainable actor


@pytest.fixture(scope="module")
def sweep_run(ray_cluster: LoopbackCluster, postgres_server: PostgresServer,
              tmp_path_factory: pytest.TempPathFactory) -> SweepRun:
    """README's cluster steps: ``poolnas sweep SPACE --ray-address HEAD`` with the storage
    URL in $POOLNAS_STORAGE, 4 one-CPU trials on two one-CPU nodes."""
    import optuna
    from sqlalchemy.engine import make_url

    # A database of its own, and a URL with a password as on a real cluster (the test
    # server trusts loopback, so the password only has to stay out of every output).
    password = secrets.token_hex(8)
    url = make_url(postgres_server.create_database("cluster_sweep")).set(password=password)
    url = url.render_as_string(hide_password=False)
    space = tmp_path_factory.mktemp("sweep") / "space.yaml"
    space.write_text(SPACE)
    env = ray_cluster.env()
    env["POOLNAS_STORAGE"] = url
    res = subprocess.run([POOLNAS, "sweep", str(space), "--ray-address", ray_cluster.address,
                          "--quiet"], env=env, cwd=space.parent, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-3000:])
    study = optuna.load_study(study_name="cluster-loopback", storage=url)
    return SweepRun(trials=study.get_trials(deepcopy=False), output=res.stdout + res.stderr,
                    password=password,
                    ran_on=nodes_that_ran("ImplicitFunc", ray_cluster.temp_root))


def test_sweep_runs_on_both_nodes_with_postgres(sweep_run: SweepRun) -> None:
    from poolnas.records import TrialAttrs

    assert [t.state.name for t in sweep_run.trials] == ["COMPLETE"] * 4, [
        (t.state.name, t.user_attrs.get(TrialAttrs.FAIL_REASON)) for t in sweep_run.trials]
    # Both nodes have 1 CPU and each trial asks for 1: two run at once, one on each node.
    # Ray's logs say where Tune's trainable actors (ImplicitFunc) ran.
    assert sweep_run.ran_on == {"head", "worker1"}
    assert sweep_run.password not in sweep_run.output


def test_each_trial_records_its_ray_node(sweep_run: SweepRun) -> None:
    from poolnas.records import TrialAttrs

    nodes = [t.user_attrs.get(TrialAttrs.NODE) for t in sweep_run.trials]
    assert all(nodes), nodes
    # Both nodes are on 127.0.0.1 with one hostname: `node` has to tell Ray nodes apart.
    assert len(set(nodes)) == 2, nodes
