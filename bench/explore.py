"""How long the entropy explorer takes to redraw after a slider move, once an image's outputs are cached.

    python bench/explore.py [--size 512] [--classes 21] [--images 16] [--threads 1] [--rounds 15]

Builds `SplitOutputs` of random teacher/student probabilities at size x size (no network runs: the figures are
about the explorer, not the model), then times, round-robin (one of each per round, median of --rounds):

- `partition`: the partition of one image at a new alpha_t (thresholds over the whole split, or over the image);
- `state + overlay`: everything a redraw computes (partition, fractions, colour maps, the overlay) without drawing;
- `image view redraw`: `ImageView.redraw()` including the canvas's Agg render, which is what ipympl does before it
  sends the picture to the browser (the transfer itself is not counted);
- `dataset view redraw`: the dataset tab's redraw (histogram, per-class shares, cached precision/recall curves,
  calibration), likewise;
- `inspector`: one pixel's inspector (hover).
"""
import argparse, statistics, time
import matplotlib
matplotlib.use("Agg")
import numpy as np
import torch

def outputs(size: int, C: int, n: int):
    from u2pl.explore import SplitOutputs
    from u2pl.entropy import entropy
    g = torch.Generator().manual_seed(0)
    prob = lambda: torch.softmax(torch.randn(C, size, size, generator=g) * 3, 0)
    pt = [prob() for _ in range(n)]
    return SplitOutputs(ids=[str(i) for i in range(n)], images=[np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8) for i in range(n)],
                        labels=[torch.randint(0, C, (size, size), generator=g) for _ in range(n)], pseudo=[p.argmax(0) for p in pt],
                        entropy=[entropy(p[None])[0] for p in pt], prob_t=[p.half() for p in pt], prob_s=[prob().half() for _ in range(n)],
                        num_classes=C, schedule={"epochs": 80, "alpha0": 20.0})

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512); ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--images", type=int, default=16); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from u2pl.explorer import ImageView, DatasetView
    out = outputs(a.size, a.classes, a.images)
    v = ImageView(out); d = DatasetView(v)
    v.box.refresh = v.fig.canvas.draw; d.box.refresh = d.fig.canvas.draw   # what ipympl does on a redraw: an Agg render
    alphas = iter(np.linspace(2, 40, 10 ** 4))
    def move():
        v.alpha.unobserve_all(); v.alpha.value = float(next(alphas))      # a slider move, timed without the observers
    cases = {
        "partition (split thresholds)": lambda: out.partition_of(0, next(alphas), "split"),
        "partition (image thresholds)": lambda: out.partition_of(0, next(alphas), "image"),
        "state + overlay": lambda: (move(), v.state()),
        "image view redraw (Agg render)": lambda: (move(), v.redraw()),
        "dataset view redraw (Agg render)": lambda: (move(), d.redraw()),
        "inspector": lambda: v.show_pixel(a.size // 2, a.size // 3),
    }
    for f in cases.values(): f()                                            # warm-up (and the dataset view's cached curves)
    times = {k: [] for k in cases}
    for _ in range(a.rounds):
        for k, f in cases.items():
            t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
    print(f"explorer, {a.size}x{a.size}, {a.classes} classes, {a.images} images in the split, {a.threads} thread(s), "
          f"median of {a.rounds} rounds")
    print(f"| {'step':32s} | ms |\n|{'-' * 34}|-----:|")
    for k, t in times.items(): print(f"| {k:32s} | {1000 * statistics.median(t):.1f} |")

if __name__ == "__main__": main()
