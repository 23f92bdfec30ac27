"""The entropy explorer at the size of a real split: peak memory, cache on disk, redraw times, fill time.

    python bench/explore.py [--sizes 16 256 1449] [--classes 21] [--height 375 --width 500] [--rounds 7]
                            [--models resnet18 resnet101_deepstem] [--keep DIR]

For each split size, in a fresh process (so that its peak resident memory is its own):

  fill      `u2pl.explore_cache.fill_cache` of N images of VOC size (500 x 375, 21 classes) with random outputs (teacher
            and student logits at stride 4, upsampled and soft-maxed as the teacher pass does; blocky random labels):
            the real store, tally and split pass, no network. Time per image, cache size on disk, peak memory.
  views     a fresh process opens the cache (`SplitOutputs`) and builds the image view, the dataset view and the gallery
            (Agg backend, so every redraw includes the render ipympl would send), then times, round-robin, median of
            --rounds: a slider move and the image view's redraw; the dataset view's redraw; the gallery's refresh (12
            thumbnails); one pixel inspector hover; a change of image. Peak memory of that process.

Then the fill time per image with a named network (`--models`, the presets' backbones at their output strides, untrained
weights, teacher and student passes as `explore_split` runs them, batch 1 on this CPU), on a few VOC-size images.
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _random_pass(C, stride=4, seed=0):
    "A stand-in for `Method.inspect`: random logits at the network's stride, then the pass's own stage 1."
    import torch
    from types import SimpleNamespace
    from u2pl.step import upsample
    from u2pl.entropy import entropy
    g = torch.Generator().manual_seed(seed)
    def inspect(xb):
        B, _, H, W = xb.shape
        logits = torch.randn(B, C, (H + stride - 1) // stride, (W + stride - 1) // stride, generator=g) * 3
        prob = torch.softmax(upsample(logits, (H, W)), 1)
        conf, label = prob.max(1)
        return SimpleNamespace(label=label, conf=conf, entropy=entropy(prob), logits_T=logits)
    return inspect


def fill(folder, n, C, H, W):
    import numpy as np
    import torch
    from u2pl.explore_cache import fill_cache, value_grid
    rng = np.random.default_rng(0)
    def item(k):
        img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        lab = torch.from_numpy(np.kron(rng.integers(0, C, (H // 25 + 1, W // 25 + 1)), np.ones((25, 25), np.int64))[:H, :W])
        return img, torch.zeros(3, H, W), lab
    sched = [20.0 * (1 - e / 80) for e in range(81)]
    meta = dict(num_classes=C, ignore_index=255, rule="entropy_percentile", grid=value_grid("entropy_percentile", sched),
                value0=20.0, schedule=sched, split="val", ids=[str(k) for k in range(n)], source="random outputs",
                names=["teacher", "student"], class_names=[f"class {c}" for c in range(C)], palette=[], labeled=False, student=True,
                method="u2pl", contrastive=dict(low_rank=3, high_rank=20, current_class_threshold=0.3,
                                                current_class_negative_threshold=1.0, negative_high_entropy=True))
    t0 = time.time()
    fill_cache(folder, n, item, _random_pass(C, seed=1), _random_pass(C, seed=2), meta=meta, progress=False, log=lambda *_: None)
    dt = time.time() - t0
    disk = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    return {"fill_s_per_image": dt / n, "disk_gb": disk / 1e9, "peak_mb": _peak_mb()}


def views(folder, rounds):
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import torch
    torch.set_num_threads(1)
    from u2pl.explore import SplitOutputs
    from u2pl.views import ImageView, DatasetView, Gallery
    out = SplitOutputs(folder)
    v = ImageView(out); d = DatasetView(v); g = Gallery(v)
    for b in (v.box, d.box): b.refresh = b.fig.canvas.draw           # what ipympl does on a redraw: an Agg render
    vals = iter(np.tile(np.arange(1.0, 40.0, 0.25), 100))
    imgs = iter(np.tile(np.arange(len(out)), 100))
    def move(): v.alpha.unobserve_all(); v.alpha.value = float(next(vals))   # a slider move, without its observers
    cases = {"image view: slider move and redraw": lambda: (move(), v.redraw()),
             "dataset view: redraw": lambda: (move(), d.redraw()),
             "gallery: refresh (12 thumbnails)": lambda: (move(), g.refresh()),
             "pixel inspector: one hover": lambda: v.show_pixel(100, 200),
             "image view: another image": lambda: (setattr(v.image, "value", int(next(imgs))))}
    for f in cases.values(): f()
    times = {k: [] for k in cases}
    for _ in range(rounds):
        for k, f in cases.items():
            t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
    return {"ms": {k: 1000 * statistics.median(t) for k, t in times.items()}, "peak_mb": _peak_mb()}


def model_fill(backbone, C, H, W, n=3):
    "Fill time per image of a named network (teacher + student passes, record, tally), batch 1 on this CPU."
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from u2pl.presets import resolve_config
    from u2pl.model import model_from_config
    from u2pl.method import Method
    from u2pl.explore_cache import fill_cache, value_grid
    preset = "synthetic" if backbone == "resnet18" else "voc_classic"
    cfg = resolve_config(preset, {"runtime.device": "cpu", "data.num_classes": C, "model.backbone": backbone})
    nets = [model_from_config(cfg, load_pretrained=False).eval() for _ in range(2)]
    rng = np.random.default_rng(0)
    item = lambda k: (rng.integers(0, 256, (H, W, 3), dtype=np.uint8), torch.randn(3, H, W), torch.randint(0, C, (H, W)))
    meta = dict(num_classes=C, ignore_index=255, rule="entropy_percentile", grid=value_grid("entropy_percentile"), value0=20.0, split="val")
    with tempfile.TemporaryDirectory() as d:
        fill_cache(d + "/warm", 1, item, *[lambda xb, m=m: Method.inspect(cfg, m, xb) for m in nets], meta=meta, progress=False)
        t0 = time.time()
        fill_cache(d + "/c", n, item, *[lambda xb, m=m: Method.inspect(cfg, m, xb) for m in nets], meta=meta, progress=False)
        return {"s_per_image": (time.time() - t0) / n, "output_stride": cfg.model.output_stride}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 256, 1449]); ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--height", type=int, default=375); ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=7); ap.add_argument("--models", nargs="*", default=["resnet18", "resnet101_deepstem"])
    ap.add_argument("--keep", help="keep the caches under this folder (default: a temporary one, removed)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:                                                       # internal: one measurement in this fresh process
        what, *args = a.child
        r = {"fill": lambda: fill(args[0], int(args[1]), a.classes, a.height, a.width), "views": lambda: views(args[0], a.rounds),
             "model": lambda: model_fill(args[0], a.classes, a.height, a.width)}[what]()
        print("RESULT " + json.dumps(r)); return
    root = Path(a.keep or tempfile.mkdtemp(prefix="u2pl-bench-explore-"))
    run = lambda *c: json.loads(next(l for l in subprocess.run([sys.executable, __file__, "--classes", str(a.classes), "--height", str(a.height),
                                                                  "--width", str(a.width), "--rounds", str(a.rounds), "--child", *map(str, c)],
                                                                 capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
                                                                 ).stdout.splitlines() if l.startswith("RESULT "))[7:])
    res = {}
    try:
        for n in a.sizes:
            folder = root / f"n{n}"
            res[n] = {"fill": run("fill", folder, n), "views": run("views", folder)}
            if not a.keep: shutil.rmtree(folder, ignore_errors=True)
    finally:
        if not a.keep: shutil.rmtree(root, ignore_errors=True)
    import platform
    print(f"python bench/explore.py --sizes {' '.join(map(str, a.sizes))} --rounds {a.rounds}  ({platform.machine()}, {os.cpu_count()} cores, "
          f"one thread; {a.width}x{a.height} images, {a.classes} classes, random outputs)\n")
    keys = list(next(iter(res.values()))["views"]["ms"])
    print("| | " + " | ".join(f"{n} images" for n in res) + " |\n|---|" + "---:|" * len(res))
    rows = [("cache on disk (GB)", lambda r: f"{r['fill']['disk_gb']:.2f}"), ("fill, ms per image (no network)", lambda r: f"{1000 * r['fill']['fill_s_per_image']:.0f}"),
            ("peak memory while filling (MB)", lambda r: f"{r['fill']['peak_mb']:.0f}"), ("peak memory while viewing (MB)", lambda r: f"{r['views']['peak_mb']:.0f}")]
    rows += [(f"{k}, ms (render included)" if "view" in k else f"{k}, ms", (lambda k: lambda r: f"{r['views']['ms'][k]:.0f}")(k)) for k in keys]
    for name, f in rows: print(f"| {name} | " + " | ".join(f(r) for r in res.values()) + " |")
    if a.models:
        print("\n| network (untrained), teacher + student passes | output stride | fill, s per image (one thread) |\n|---|---:|---:|")
        for m in a.models:
            r = run("model", m)
            print(f"| {m} | {r['output_stride']} | {r['s_per_image']:.2f} |")


if __name__ == "__main__": main()
