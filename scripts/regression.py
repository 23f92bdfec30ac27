"""Bit-for-bit regression runs of every built-in method, for a redesign that must keep behaviour.

    python scripts/regression.py record before.json        # on the code before the change
    python scripts/regression.py compare before.json       # after each commit: same machine, same thread count

Each run trains a few steps on one CPU thread with deterministic kernels and keeps every logged number of every step
and a sha256 of every tensor of the final checkpoint (student, teacher, optimizer, memory bank, the method's own
state). `compare` prints one line per run: identical, or the first step / tensor that differs and by how much.
Cross-machine checks with tolerances are `tests/test_step_regression.py`; this script is for one machine.
"""
from __future__ import annotations
import argparse, hashlib, json, subprocess, sys, tempfile
from pathlib import Path
import torch

RUNS = {
    "synthetic_u2pl": ["--preset", "synthetic", "--set", "train.epochs=5", "--set", "train.iters_per_epoch=2",
                       "--set", "eval.max_images=4"],
    "synthetic_suponly": ["--preset", "synthetic", "--set", "semi.method=suponly", "--set", "train.epochs=4",
                          "--set", "train.iters_per_epoch=2", "--set", "eval.max_images=4"],
    "toy_u2pl_reference_accum": ["--preset", "toy", "--set", "mode=reference", "--set", "train.accum_steps=2"],
    "toy_u2pl_ael_accum": ["--preset", "toy", "--set", "semi.method=u2pl_ael", "--set", "train.accum_steps=2"],
    "toy_u2pl_ael_reference_accum": ["--preset", "toy", "--set", "semi.method=u2pl_ael", "--set", "mode=reference",
                                     "--set", "train.accum_steps=2"],
}
COMMON = ["--set", "runtime.num_threads=1", "--set", "runtime.device=cpu", "--set", "runtime.deterministic=true",
          "--set", "runtime.log_every=1"]

def _digest(obj, prefix="") -> dict:
    "{dotted path: sha256 of the tensor's bytes} for every tensor in a nested checkpoint dict."
    out = {}
    if torch.is_tensor(obj):
        t = obj.detach().cpu().contiguous().reshape(-1)
        out[prefix] = hashlib.sha256(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"").hexdigest()[:16] + f":{t.dtype}"
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("rng", "time", "torch", "config"): continue
            out.update(_digest(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj): out.update(_digest(v, f"{prefix}[{i}]"))
    else: out[prefix] = repr(obj)
    return out

def _layout(d: dict) -> dict:
    """Checkpoint paths of both layouts in one spelling: the v1 checkpoint's `memory_bank.*` and `ael.*` are the method's
    state (`method.state.bank.*`, `method.state.*`) in v2, and one process's `ael.acm_plan` is its per-rank state
    (`method.ranks[0].acm_plan`); the keys only one layout has (format, the method's name and import path, the
    prediction record, and one process's per-rank copy of the banks, equal to the state's) are left out."""
    out = {}
    for k, v in d.items():
        if k in ("format", "prediction", "method.name", "method.spec") or (k in ("memory_bank", "ael") and v == "None"): continue
        if k.startswith(("method.ranks[0].confidence", "method.ranks[0].presence")) and d.get("method.state" + k[15:]) == v: continue
        for old, new in (("memory_bank.", "method.state.bank."), ("ael.acm_plan", "method.ranks[0].acm_plan"), ("ael.", "method.state.")):
            if k.startswith(old): k = new + k[len(old):]
        out[k] = v
    return out

def run_one(name: str, args: list, tmp: Path) -> dict:
    d = tmp / name
    r = subprocess.run([sys.executable, "-m", "u2pl.train", *args, *COMMON, "--run-dir", str(d)], capture_output=True, text=True)
    if r.returncode != 0: raise SystemExit(f"{name}: rc {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    rows = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()]
    skip = ("time", "images_per_s", "sec_per_iter", "eta_s")
    steps = [{k: v for k, v in row.items() if k not in skip} for row in rows]
    ck = torch.load(d / "ckpt/latest.pt", map_location="cpu", weights_only=True)
    evals = [json.loads(l)["miou"] for l in (d / "eval.jsonl").read_text().splitlines()] if (d / "eval.jsonl").exists() else []
    return {"steps": steps, "tensors": _layout(_digest(ck)), "eval": evals}

def _first_diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b: return f"{path}.{k}: only in {'before' if k in a else 'after'}"
            d = _first_diff(a[k], b[k], f"{path}.{k}")
            if d: return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): return f"{path}: {len(a)} vs {len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_diff(x, y, f"{path}[{i}]")
            if d: return d
        return None
    if a != b:
        rel = f" (rel {abs(a - b) / max(abs(a), abs(b), 1e-30):.2e})" if isinstance(a, float) and isinstance(b, float) else ""
        return f"{path}: {a!r} vs {b!r}{rel}"
    return None

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("record", "compare"))
    ap.add_argument("file")
    ap.add_argument("--only", nargs="*", help="run names (default: all)")
    a = ap.parse_args(argv)
    names = a.only or list(RUNS)
    with tempfile.TemporaryDirectory() as tmp:
        got = {n: run_one(n, RUNS[n], Path(tmp)) for n in names}
    if a.action == "record":
        Path(a.file).write_text(json.dumps(got, indent=1)); print(f"recorded {', '.join(names)} -> {a.file}"); return 0
    want, bad = json.loads(Path(a.file).read_text()), 0
    for n in names:
        if n not in want: print(f"{n:32s} not in {a.file}"); bad += 1; continue
        want[n]["tensors"] = _layout(want[n]["tensors"])
        d = _first_diff(want[n], got[n])
        print(f"{n:32s} {'identical' if d is None else 'DIFFERS ' + d}"); bad += d is not None
    return 1 if bad else 0

if __name__ == "__main__": sys.exit(main())
