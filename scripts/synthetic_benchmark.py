"""Methods side by side on the built-in synthetic benchmark, mean ± std over seeds, and paired by seed.

    python scripts/synthetic_benchmark.py                       # 3 seeds, smallest split, SupOnly and U2PL
    python scripts/synthetic_benchmark.py --methods suponly u2pl u2pl_ael mypkg.mod:Mine   # any methods, your own too
    python scripts/synthetic_benchmark.py --split 1024 --methods suponly --run-root runs/bench_synthetic_full
    python scripts/synthetic_benchmark.py --seeds 0 1 --epochs 6 --set semi.unsup_weight=1

The protocol is the `synthetic` preset (the CPU quickstart runs it for 8 epochs instead of 20): resnet18 from scratch with a 64-wide
decoder, 96x96 images, 20 epochs of 60 iterations (3 supervised-only for U2PL), batch 8 (+8 unlabelled).
`--epochs N` changes the length (keep N > 3, the supervised-only warm-up, or also --set semi.sup_only_epoch=...).

Each run trains with `python -m u2pl.train` (the same entry point as every other run) into
runs/bench_synthetic/<method's short name>/seed<k>/, then this script reads eval.jsonl and prints, per method, the
last-epoch and best-epoch mIoU of the network that predicts (the teacher once it is trained; the student of a method
without one) as mean ± std, with the protocol of the numbers, and every method's per-seed differences against each of
the baselines among the methods run (SupOnly and U2PL): the seed-to-seed spread is larger than most method effects, so
the paired differences are what says whether a method helps.
"""
import argparse, json, statistics, subprocess, sys, time
from pathlib import Path

def run(method, seed, split, run_root, sets, threads, epochs):
    from u2pl.method import method_name
    run_dir = run_root / method_name(method) / f"seed{seed}"
    cfg = run_dir / "config.yaml"
    run_dir.mkdir(parents=True, exist_ok=True)
    from u2pl.presets import resolve_config
    from u2pl.config import save_yaml, parse_set
    over = {"semi.method": method, "runtime.seed": seed, "data.split": split, "runtime.run_dir": str(run_dir), "runtime.resume": "auto"}
    if epochs: over["train.epochs"] = epochs
    over.update(dict(parse_set(s) for s in sets))
    new = resolve_config("synthetic", over)
    if cfg.exists() and (run_dir / "ckpt").exists():   # resume: auto would silently stretch a finished run to new settings
        from u2pl.presets import load_yaml
        from u2pl.config import to_dict
        from u2pl.checkpoint import config_diff
        diff = config_diff(to_dict(load_yaml(cfg)), to_dict(new))
        if diff: sys.exit(f"{run_dir} holds a run made with other settings ({', '.join(diff[:4])}); "
                          f"pass another --run-root or delete that folder")
    save_yaml(new, cfg)
    env = {**__import__("os").environ, "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    t = time.time()
    with open(run_dir / "stdout.log", "a") as log:   # appended: re-aggregating a finished run keeps its history
        rc = subprocess.call([sys.executable, "-m", "u2pl.train", "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT, env=env)
    if rc: sys.exit(f"{method} seed {seed} failed (exit {rc}); see {run_dir/'stdout.log'}")
    rows = [json.loads(l) for l in (run_dir / "eval.jsonl").read_text().splitlines() if l.strip()]
    want = "teacher" if any(r.get("model") == "teacher" for r in rows) else "student"   # what predicts at the end
    rows = [r for r in rows if r.get("model", want) == want] or rows
    return dict(last=100 * rows[-1]["miou"], best=100 * max(r["miou"] for r in rows), protocol=rows[-1].get("protocol"),
                minutes=(time.time() - t) / 60)

def fmt(xs): return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs) if len(xs) > 1 else 0.0:.2f}"

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--split", default="64")
    ap.add_argument("--methods", nargs="+", default=["suponly", "u2pl"])
    ap.add_argument("--run-root", default="runs/bench_synthetic")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=None, help="epochs of 60 iterations (default: the preset's 20)")
    ap.add_argument("--set", action="append", default=[], help="extra config override key=value (repeatable)")
    a = ap.parse_args()
    res = {m: [run(m, s, a.split, Path(a.run_root), a.set, a.threads, a.epochs) for s in a.seeds] for m in a.methods}
    for m, rs in res.items():
        for s, r in zip(a.seeds, rs): print(f"{m:8s} seed {s}: last {r['last']:.2f} best {r['best']:.2f} ({r['minutes']:.1f} min)")
    print(f"\nsynthetic benchmark, split {a.split}, seeds {a.seeds}, epochs: {a.epochs or 'preset'}; protocol: {json.dumps(next(iter(res.values()))[0]['protocol'])}\n")
    print("| method | last-epoch mIoU | best-epoch mIoU |\n|---|---|---|")
    for m, rs in res.items(): print(f"| {m} | {fmt([r['last'] for r in rs])} | {fmt([r['best'] for r in rs])} |")
    base = [b for b in ("suponly", "u2pl") if b in res]
    if base and len(res) > 1:                        # paired by seed: the seed-to-seed spread is larger than most method effects
        print(f"\n| method − baseline | last, per seed {a.seeds} | mean | best, per seed | mean |\n|---|---|---|---|---|")
        for b in base:
            for m in res:
                if m == b: continue
                dl = [x["last"] - y["last"] for x, y in zip(res[m], res[b])]
                db = [x["best"] - y["best"] for x, y in zip(res[m], res[b])]
                print(f"| {m} − {b} | {', '.join(f'{x:+.2f}' for x in dl)} | {statistics.mean(dl):+.2f} | "
                      f"{', '.join(f'{x:+.2f}' for x in db)} | {statistics.mean(db):+.2f} |")

if __name__ == "__main__": main()
