"""The GPU path in one run (issue 20 item 7): CUDA tests, ResNet-56 epoch time with the data and
its batched augmentation resident on the device, the input pipeline alone, fp32 vs bf16 on
Fashion-MNIST, 4 trials at 0.25 GPU through a real sweep against one at a time, and the
options (batch 512, channels_last + bf16, torch.compile, CUDA graphs, a test pass only at
the end). Writes one JSON and, with ``--docs FILE``, the "GPU check" section of that
markdown file (between ``<!-- gpu_check:begin -->`` and ``<!-- gpu_check:end -->``).

Sized for one H200 in under 8 minutes: every section is timed and the run skips what would
pass ``--budget-s`` (default 420 s), saying so in the JSON. Without CUDA (or with
``--toy``) every section runs at toy size on the CPU, where only the wiring is checked
(tests/test_gpu_check.py runs it that way in CI); figures from a toy run are never GPU
figures, and the docs writer refuses to write them as such.

Usage: python benchmarks/gpu_check.py [--toy] [--out gpu_check.json] [--docs docs/benchmarks.md]
       [--budget-s 420] [--skip-tests] [--skip-sweep] [--skip-compile]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from poolnas.config import config_from_dict
from poolnas.models import build_model
from poolnas.trainers.augment import augment_batch

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- gpu_check:begin -->", "<!-- gpu_check:end -->"
CUDA_TESTS = ["tests/trainers/test_loop.py", "tests/trainers/test_augment.py",
              "tests/trainers/test_commands.py"]

# (full size on a GPU, toy size on the CPU)
SIZES = {
    "arch": ("resnet56", "resnet20"),
    "images": (50_000, 256),  # one CIFAR-sized epoch
    "side": (32, 8),
    "fmnist_train": (60_000, 256),
    "fmnist_test": (10_000, 128),
    "fmnist_epochs": (3, 1),
    "sweep_samples": (8192, 64),
}


class Budget:
    """Wall-clock budget of the run: a section that would start past it is skipped."""

    def __init__(self, seconds: float) -> None:
        self.t0, self.seconds = time.perf_counter(), seconds

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.t0)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _size(key: str, toy: bool) -> Any:
    return SIZES[key][1 if toy else 0]


def _model(arch: str, channels: int, dev: torch.device, channels_last: bool) -> torch.nn.Module:
    cfg = config_from_dict({"model": {"arch": arch, "in_channels": channels, "num_classes": 10},
                            "attention": {"pooling": "gap", "excitation": "se"},
                            "trainer": {"dataset": "synthetic"}})
    torch.manual_seed(0)
    model = build_model(cfg).to(dev)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def _epoch(model: Callable, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, batch: int,
           dev: torch.device, *, bf16: bool, channels_last: bool, gen: torch.Generator) -> float:
    """One epoch over (x, y) resident on ``dev``: index, batched pad-crop + flip, forward,
    backward, SGD; seconds."""
    fill = torch.zeros(x.shape[1], device=dev)
    _sync(dev)
    t0 = time.perf_counter()
    perm = torch.randperm(len(y), device=dev, generator=gen)
    for i in range(0, len(y) - batch + 1, batch):
        idx = perm[i:i + batch]
        xb = augment_batch(x[idx], pad=4, flip=True, fill=fill, generator=gen)
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(dev)
    return time.perf_counter() - t0


def _test_pass(model: Callable, x: torch.Tensor, y: torch.Tensor, dev: torch.device,
               bf16: bool) -> tuple[float, float]:
    """(seconds, accuracy) of one pass over (x, y) in eval mode."""
    _sync(dev)
    t0 = time.perf_counter()
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(y), 1024):
            correct += (model(x[i:i + 1024]).argmax(1) == y[i:i + 1024]).sum()
    _sync(dev)
    return time.perf_counter() - t0, correct.item() / len(y)


def resnet_epochs(dev: torch.device, toy: bool, budget: Budget, skip_compile: bool) -> dict[str, Any]:
    """ResNet-56 (toy: ResNet-20) epoch time on CIFAR-shaped data resident on the device, per
    option; the second epoch of each variant is timed (the first warms up / compiles)."""
    n, side = _size("images", toy), _size("side", toy)
    gen = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(n, 3, side, side, device=dev, generator=gen)
    y = torch.randint(0, 10, (n,), device=dev, generator=gen)
    variants = {
        "eager fp32 batch 128": dict(batch=128, bf16=False, cl=False, compile=None),
        "eager fp32 batch 512": dict(batch=512, bf16=False, cl=False, compile=None),
        "eager bf16 channels_last batch 512": dict(batch=512, bf16=True, cl=True, compile=None),
        "compile bf16 channels_last batch 512": dict(batch=512, bf16=True, cl=True, compile="default"),
        "compile+CUDA graphs bf16 channels_last batch 512": dict(batch=512, bf16=True, cl=True,
                                                                  compile="reduce-overhead"),
    }
    if toy:
        for v in variants.values():
            v["batch"] = min(v["batch"], 64)
    out: dict[str, Any] = {"arch": _size("arch", toy), "images": n, "side": side, "variants": {}}
    for name, v in variants.items():
        if v["compile"] and (skip_compile or toy or dev.type != "cuda"):
            out["variants"][name] = {"skipped": "torch.compile runs on CUDA runs only (--skip-compile, toy)"}
            continue
        if budget.left() < 30:
            out["variants"][name] = {"skipped": "time budget"}
            continue
        model = _model(out["arch"], 3, dev, v["cl"]).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        fn = torch.compile(model, mode=v["compile"]) if v["compile"] else model
        warm = _epoch(fn, opt, x, y, v["batch"], dev, bf16=v["bf16"], channels_last=v["cl"], gen=gen)
        timed = _epoch(fn, opt, x, y, v["batch"], dev, bf16=v["bf16"], channels_last=v["cl"], gen=gen)
        test_s, _ = _test_pass(model.eval(), x[:n // 5], y[:n // 5], dev, v["bf16"])  # eager
        out["variants"][name] = {"first_epoch_s": round(warm, 3), "epoch_s": round(timed, 3),
                                 "images_per_s": round(n / timed, 1),
                                 "test_pass_s_per_10k": round(test_s * 10_000 / (n // 5), 3)}
    return out


def input_pipeline(dev: torch.device, toy: bool) -> dict[str, Any]:
    """Images/s of the input pipeline alone: index selection + batched pad-crop + flip."""
    n, side = _size("images", toy), _size("side", toy)
    gen = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(n, 3, side, side, device=dev, generator=gen)
    fill = torch.zeros(3, device=dev)
    rates = {}
    for label in (128, 512):
        batch = min(label, n)  # toy: at most the whole set
        times = []
        for _ in range(3):
            _sync(dev)
            t0 = time.perf_counter()
            perm = torch.randperm(n, device=dev, generator=gen)
            for i in range(0, n - batch + 1, batch):
                augment_batch(x[perm[i:i + batch]], pad=4, flip=True, fill=fill, generator=gen)
            _sync(dev)
            times.append(time.perf_counter() - t0)
        rates[f"batch {label}"] = round((n - n % batch) / statistics.median(times), 1)
    return {"images_per_s": rates}


def fp32_vs_bf16(dev: torch.device, toy: bool) -> dict[str, Any]:
    """SE-ResNet-20 on Fashion-MNIST (synthetic 1x28x28 where the files are absent): median
    step time and test accuracy in fp32 and under bf16 autocast, same seed and batches."""
    from poolnas.trainers import load_dataset

    ntrain, ntest, epochs = _size("fmnist_train", toy), _size("fmnist_test", toy), _size("fmnist_epochs", toy)
    try:
        tc = config_from_dict({"trainer": {"dataset": "fashion-mnist", "train_subset": ntrain,
                                           "test_subset": ntest, "val_fraction": 0}}).trainer
        data = load_dataset(tc, in_channels=1)
        source = "fashion-mnist"
    except Exception as err:  # the idx files are absent: the wiring still runs
        tc = config_from_dict({"trainer": {"dataset": "synthetic", "image_size": 28, "num_samples": ntrain,
                                           "val_fraction": 0}}).trainer
        data = load_dataset(tc, in_channels=1)
        source = f"synthetic ({type(err).__name__}: Fashion-MNIST not found)"
    x, y = data.train_x.to(dev), data.train_y.to(dev)
    tx, ty = data.test_x.to(dev), data.test_y.to(dev)
    out: dict[str, Any] = {"data": source, "train": len(y), "test": len(ty), "epochs": epochs}
    for name, bf16 in (("fp32", False), ("bf16", True)):
        model = _model("resnet20", 1, dev, False).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
        gen = torch.Generator(device=dev).manual_seed(0)
        steps = []
        batch = 128 if not toy else 64
        fill = data.fill.to(dev)
        for _ in range(epochs):
            perm = torch.randperm(len(y), device=dev, generator=gen)
            for i in range(0, len(y) - batch + 1, batch):
                _sync(dev)
                t0 = time.perf_counter()
                idx = perm[i:i + batch]
                xb = augment_batch(x[idx], pad=2, flip=True, fill=fill, generator=gen)
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                    loss = F.cross_entropy(model(xb), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                _sync(dev)
                steps.append(time.perf_counter() - t0)
        _, acc = _test_pass(model.eval(), tx, ty, dev, bf16)
        out[name] = {"step_ms": round(1e3 * statistics.median(steps[len(steps) // 4:] or steps), 3),
                     "test_acc": round(acc, 4)}
    out["bf16_over_fp32_step"] = round(out["bf16"]["step_ms"] / out["fp32"]["step_ms"], 3)
    out["acc_diff_points"] = round(100 * (out["bf16"]["test_acc"] - out["fp32"]["test_acc"]), 2)
    return out


def cuda_tests(toy: bool) -> dict[str, Any]:
    """The test files that exercise CUDA (their CUDA tests skip without a GPU)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda",
                           *CUDA_TESTS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return {"exit_status": proc.returncode, "summary": tail, "seconds": round(time.perf_counter() - t0, 1),
            "files": CUDA_TESTS}


def fractional_sweep(toy: bool) -> dict[str, Any]:
    """4 trials at 0.25 GPU at once against the same 4 at 1 GPU one at a time, through
    poolnas.search.run_sweep (benchmarks/bench_fractional_gpu.py's runs)."""
    spec = importlib.util.spec_from_file_location("bench_fractional_gpu",
                                                  ROOT / "benchmarks" / "bench_fractional_gpu.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    args = argparse.Namespace(trials=4, epochs=2, samples=_size("sweep_samples", toy))
    with tempfile.TemporaryDirectory(prefix="poolnas-gpu-check-") as folder:
        frac = mod.run_mode("fractional", mod.QUARTER, mod.AT_ONCE, args, folder)
        whole = mod.run_mode("whole", 1.0, 1, args, folder)
    return {"fractional": frac, "whole": whole,
            "speedup_fractional_over_one_at_a_time": round(whole["tune_s"] / frac["tune_s"], 2)}


def _machine(dev: torch.device, toy: bool) -> dict[str, Any]:
    info: dict[str, Any] = {"device": str(dev), "toy": toy, "python": platform.python_version(),
                            "torch": torch.__version__, "platform": platform.platform(),
                            "load": [round(v, 2) for v in os.getloadavg()],
                            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    if dev.type == "cuda":
        info.update(gpu=torch.cuda.get_device_name(dev), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    return info


def run(*, toy: bool, budget_s: float, skip_tests: bool, skip_sweep: bool,
        skip_compile: bool) -> dict[str, Any]:
    dev = torch.device("cuda" if torch.cuda.is_available() and not toy else "cpu")
    toy = toy or dev.type != "cuda"
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:  # the CPU run checks the wiring: one thread (two collapse on a shared 2-core machine)
        torch.set_num_threads(1)
    budget = Budget(budget_s)
    result: dict[str, Any] = {"machine": _machine(dev, toy), "sections": {}}
    sections: list[tuple[str, Callable[[], dict[str, Any]], str | None]] = [
        ("cuda_tests", lambda: cuda_tests(toy), "--skip-tests" if skip_tests else None),
        ("input_pipeline", lambda: input_pipeline(dev, toy), None),
        ("resnet_epoch", lambda: resnet_epochs(dev, toy, budget, skip_compile), None),
        ("fp32_vs_bf16", lambda: fp32_vs_bf16(dev, toy), None),
        ("fractional_sweep", lambda: fractional_sweep(toy),
         "--skip-sweep" if skip_sweep
         else "no CUDA (Ray gives no GPU to a trial)" if dev.type != "cuda" else None),
    ]
    for name, fn, skip in sections:
        if skip:
            result["sections"][name] = {"skipped": skip}
            continue
        if budget.left() < 20:
            result["sections"][name] = {"skipped": "time budget"}
            continue
        t0 = time.perf_counter()
        try:
            result["sections"][name] = fn()
        except Exception as err:  # one section's failure is a finding, not the end of the check
            result["sections"][name] = {"error": f"{type(err).__name__}: {err}"}
        result["sections"][name]["section_s"] = round(time.perf_counter() - t0, 1)
        print(f"# {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    result["total_s"] = round(time.perf_counter() - budget.t0, 1)
    return result


def _fmt(section: dict[str, Any], *keys: str) -> str:
    node: Any = section
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return "not measured"
        node = node[k]
    return str(node)


def markdown(result: dict[str, Any]) -> str:
    """The docs section: GPU figures only from a run on a GPU, else "not measured"."""
    m, s = result["machine"], result["sections"]
    gpu = not m["toy"]
    val = (lambda *keys: _fmt(s, *keys)) if gpu else (lambda *keys: "not measured")
    lines = [BEGIN, "## GPU check (issue 20 item 7)", "",
             "`benchmarks/gpu_check.py --out gpu_check.json --docs docs/benchmarks.md`: one run,",
             "one JSON; the script rewrites this section (targets: issue 20).", ""]
    if gpu:
        lines.append(f"Machine: {m.get('gpu')}, CUDA {m.get('cuda')}, torch {m['torch']}, "
                     f"Python {m['python']}, "
                     f"load {m['load']}, {m['date_utc']} UTC; the whole check took {result['total_s']} s.")
    else:
        lines += ["Not measured: no GPU was at hand. The script has run only at toy size on the CPU",
                  "(in CI: tests/test_gpu_check.py); every figure below is \"not measured\"."]
    lines += ["", "| measurement | value | target |", "|---|---|---|",
              f"| CUDA tests (`-k cuda` in {', '.join(CUDA_TESTS)}) | {val('cuda_tests', 'summary')} "
              "| pass |"]
    for name in ("eager fp32 batch 128", "eager fp32 batch 512", "eager bf16 channels_last batch 512",
                 "compile bf16 channels_last batch 512", "compile+CUDA graphs bf16 channels_last batch 512"):
        lines.append(f"| ResNet-56 epoch of 50,000 32x32 images, {name} (s) | "
                     f"{val('resnet_epoch', 'variants', name, 'epoch_s')} | <= 2 s |")
    lines += [
        f"| test pass of 10,000 images, eager fp32 (s) | "
        f"{val('resnet_epoch', 'variants', 'eager fp32 batch 128', 'test_pass_s_per_10k')} | - |",
        f"| input pipeline alone, batch 512 (images/s) | "
        f"{val('input_pipeline', 'images_per_s', 'batch 512')} | - |",
        f"| Fashion-MNIST step, fp32 / bf16 (ms) | {val('fp32_vs_bf16', 'fp32', 'step_ms')} / "
        f"{val('fp32_vs_bf16', 'bf16', 'step_ms')} | - |",
        f"| Fashion-MNIST test accuracy bf16 - fp32 (points) | {val('fp32_vs_bf16', 'acc_diff_points')} "
        "| within noise |",
        f"| 4 trials at 0.25 GPU vs one at a time (speed-up) | "
        f"{val('fractional_sweep', 'speedup_fractional_over_one_at_a_time')} | >= 2.5x |",
        END]
    return "\n".join(lines) + "\n"


def write_docs(path: Path, result: dict[str, Any]) -> None:
    """Replace the section between the markers (append it when absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = markdown(result)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--toy", action="store_true", help="toy sizes on the CPU (the default without CUDA)")
    ap.add_argument("--out", default="gpu_check.json")
    ap.add_argument("--docs", default=None, help="markdown file whose GPU check section is rewritten")
    ap.add_argument("--budget-s", type=float, default=420.0)
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--skip-compile", action="store_true")
    args = ap.parse_args(argv)
    result = run(toy=args.toy, budget_s=args.budget_s, skip_tests=args.skip_tests,
                 skip_sweep=args.skip_sweep, skip_compile=args.skip_compile)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.docs:
        write_docs(Path(args.docs), result)
    errors = [k for k, v in result["sections"].items() if "error" in v]
    print(json.dumps({"out": args.out, "toy": result["machine"]["toy"], "total_s": result["total_s"],
                      "errors": errors}))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
