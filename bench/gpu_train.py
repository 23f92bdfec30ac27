"""GPU training paths, end to end through `python -m u2pl.train`: fp32, bf16, bf16 + channels-last, fp16 + channels-last,
torchrun/nccl (with SyncBN when there are two GPUs or more), and optionally torch.compile; one table of s/step,
images/s, peak memory and losses.

    python bench/gpu_train.py [--iters 40] [--compile] [--out DIR]       # on a CUDA machine
    python bench/gpu_train.py --device cpu --iters 2 --variants fp32     # dry run of the plumbing, on a CPU

Workload: U2PL from the first step (`semi.sup_only_epoch=0`: teacher-eval, student and teacher-train passes,
unsupervised and contrastive losses, queues) with the VOC model (resnet101_deepstem, output stride 8, multi-grid,
ASPP 12/24/36, 256-wide decoder, random init) on the built-in synthetic data at --size px (crop --size - 31),
batch 8 labelled + 8 unlabelled, 12 loader workers. s/step is the median of the logged windows after the first
two (cudnn autotuning and loader start-up fall in those); with few iterations the synthetic generator, not the
GPU, may bound the step: compare variants, not absolute figures. Each run ends with a whole-image evaluation
(teacher), which proves the eval path runs in that precision; its mIoU after a few dozen random-init steps
means nothing. On one GPU the nccl variant is a one-rank process group (DDP, the metric all_reduce and the
memory bank's all_gather go through nccl, but nothing is exchanged): SyncBN needs two GPUs, since nccl refuses
two ranks on one device, and the trainer only converts BN when world_size > 1. Every run's folder (config, train.log, metrics.jsonl) stays under --out.
"""
import argparse, math, os, signal, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from u2pl.launch import read_jsonl  # noqa: E402

VARIANTS = {   # name -> (extra --set overrides, processes under torchrun or None for a plain process)
    "fp32": (["runtime.amp=none", "runtime.channels_last=false"], None),
    "bf16": (["runtime.amp=bf16", "runtime.channels_last=false"], None),
    "bf16+cl": (["runtime.amp=bf16", "runtime.channels_last=true"], None),
    "fp16+cl": (["runtime.amp=fp16", "runtime.channels_last=true"], None),
    "ddp-nccl": (["runtime.amp=bf16", "runtime.channels_last=true"], "gpus"),
    "compile": (["runtime.amp=bf16", "runtime.channels_last=true", "runtime.compile=true"], None),
}

def base_sets(a):
    return ["model.backbone=resnet101_deepstem", "model.output_stride=8", "model.multi_grid=true",
            "model.aspp_dilations=[12, 24, 36]", "model.decoder_width=256",
            f"data.extra={{size: {a.size}, seed: 0}}", f"data.crop_size={a.size - 31}", f"data.num_workers={a.workers}",
            "semi.sup_only_epoch=0", "train.epochs=1", f"train.iters_per_epoch={a.iters}", "runtime.log_every=5",
            f"runtime.device={a.device}", "runtime.resume=none"]

def run_variant(name, a):
    sets, nproc = VARIANTS[name]
    if nproc == "gpus":
        nproc = a.gpus
        if nproc > 1: sets = sets + ["model.sync_bn=true"]
    run_dir = Path(a.out) / name
    head = [sys.executable, "-m", "u2pl.train"] if nproc is None else \
           [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "u2pl.train"]
    cmd = head + ["--preset", "synthetic", "--run-dir", str(run_dir)]
    for s in base_sets(a) + sets: cmd += ["--set", s]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    run_dir.mkdir(parents=True, exist_ok=True)
    t = time.time()
    with open(run_dir / "stdout.log", "w") as log:   # own process group: a timeout also ends torchrun's workers
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
        try: rc = p.wait(timeout=a.timeout)
        except subprocess.TimeoutExpired:   # SIGTERM first: torchrun forwards it to its workers (their own sessions)
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(timeout=30)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()
            rc = "timeout"
    res = dict(name=name, rc=rc, wall=time.time() - t)
    rows, evals = read_jsonl(run_dir / "metrics.jsonl"), read_jsonl(run_dir / "eval.jsonl")
    steady = rows[2:] or rows
    if steady:
        res.update(s_step=statistics.median(r["sec_per_iter"] for r in steady),
                   img_s=statistics.median(r["images_per_s"] for r in steady),
                   mem=max((r.get("max_mem_gb", float("nan")) for r in rows), default=float("nan")),
                   loss_first=rows[0].get("loss", float("nan")), loss_last=rows[-1].get("loss", float("nan")),
                   loss_c=rows[-1].get("loss_c", float("nan")), queue=rows[-1].get("queue_fill_mean", float("nan")))
    if evals: res["miou"] = 100 * evals[-1]["miou"]
    if rc: res["tail"] = (run_dir / "stdout.log").read_text()[-1500:]
    return res

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=[v for v in VARIANTS if v != "compile"], choices=list(VARIANTS))
    ap.add_argument("--compile", action="store_true", help="also run the torch.compile variant (compilation takes minutes)")
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--size", type=int, default=192, help="synthetic image size (crop = size - 31)")
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--gpus", type=int, default=None, help="processes of the nccl variant (default: every visible GPU)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per variant")
    ap.add_argument("--out", default=os.environ.get("OUT", "runs") + "/gpu_train")
    a = ap.parse_args(argv)
    if a.gpus is None:
        import torch
        a.gpus = max(torch.cuda.device_count(), 1)
    names = a.variants + (["compile"] if a.compile and "compile" not in a.variants else [])
    results = []
    for n in names:
        r = run_variant(n, a)
        results.append(r)
        print(f"{n}: rc {r['rc']}" + (f"\n{r['tail']}" if r.get("tail") else ""), flush=True)
    f = lambda r, k, fmt: format(r[k], fmt) if isinstance(r.get(k), (int, float)) and not math.isnan(r[k]) else "-"
    print(f"\nU2PL steps, resnet101_deepstem OS8, synthetic {a.size}px crop {a.size - 31}, batch 8+8, {a.iters} iterations, device {a.device}")
    print("| variant | rc | s/step | images/s | peak GiB | loss first → last | L_c last | queue fill | mIoU (eval ran) | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['rc']} | {f(r, 's_step', '.3f')} | {f(r, 'img_s', '.1f')} | {f(r, 'mem', '.2f')} | "
              f"{f(r, 'loss_first', '.3f')} → {f(r, 'loss_last', '.3f')} | {f(r, 'loss_c', '.3f')} | {f(r, 'queue', '.3f')} | "
              f"{f(r, 'miou', '.2f')} | {f(r, 'wall', '.0f')} |")
    return 0 if all(r["rc"] == 0 for r in results) else 1

if __name__ == "__main__": sys.exit(main())
