"Shared helpers for the engine tests (CPU, the `toy` preset: resnet18, 33x33 crops, 3 classes)."
import os, subprocess, sys
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]

def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e

def train_cmd(run_dir, *sets, nproc=1):
    "Command line for `python -m u2pl.train --preset toy` (under torch.distributed.run when nproc > 1)."
    head = [sys.executable, "-m", "u2pl.train"] if nproc == 1 else \
           [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "u2pl.train"]
    cmd = head + ["--preset", "toy", "--run-dir", str(run_dir), "--set", "runtime.num_threads=1", "--set", "runtime.device=cpu"]
    for s in sets: cmd += ["--set", s]
    return cmd

def run(cmd, timeout=240, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=ROOT)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r

def load(path):
    return torch.load(path, map_location="cpu", weights_only=True)
