"""Training-image throughput of the data pipeline, per worker on one core, against decoding alone and the reference's order.

    python bench/data.py [--n 40] [--rounds 3]

Writes VOC-like (500x375 JPEG q90 + PNG label, crop 513) and Cityscapes-like (2048x1024 PNG + PNG label, crop 769)
files to a temporary folder, then measures round-robin in one process, one thread (a slow spell hits every side):

  decode      PIL decode of image and label only (u2pl.datasets.read_image / read_label): the ceiling
  ours        decode + u2pl.transforms.TrainTransform (two-sided random scale 0.5-2.0, PyTorch's uint8 bilinear resize of the
              source region under the crop window, pad, flip; uint8 pixels out): what a DataLoader worker does per
              training image. The float conversion and normalisation run batched on the device (u2pl.transforms.model_input)
  +normalise  ours, then that normalisation here on the CPU into contiguous float memory, per image: what a run
              without a GPU adds (batched in the main process)
  exact       the same in reference mode: the window at exactly the reference's positions (float F.grid_sample),
              normalised in the worker
  reference   decode + the reference's order: float tensor, normalise, F.interpolate of the whole image, pad, crop, flip

and prints images/s and the ratio to decode. Same seeds for every side, so ours and reference draw the same scales.
"""
import argparse, random, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from u2pl.transforms import TrainTransform, model_input, normalize, rand_scale   # noqa: E402
from u2pl.datasets import read_image, read_label

def write_files(root: Path, kind: str, n: int = 6):
    rng = np.random.default_rng(0)
    (W, H), suf = ((500, 375), ".jpg") if kind == "voc" else ((2048, 1024), ".png")
    files = []
    for i in range(n):                                   # smooth random images (like photos, unlike white noise for JPEG)
        small = (rng.random((H // 16, W // 16, 3)) * 255).astype(np.uint8)
        img = Image.fromarray(small).resize((W, H), Image.BILINEAR)
        lab = Image.fromarray((rng.random((H // 32, W // 32)) * 19).astype(np.uint8)).resize((W, H), Image.NEAREST)
        ip, lp = root / f"{kind}{i}{suf}", root / f"{kind}{i}.png"
        img.save(ip, quality=90) if suf == ".jpg" else img.save(ip); lab.save(lp)
        files.append((ip, lp))
    return files

def reference_order(img: np.ndarray, lab: np.ndarray, crop: int, rng: random.Random):
    "The public code's order: ToTensor (float), Normalize, resize the whole image, pad, random crop, flip."
    x = normalize(torch.from_numpy(img).permute(2, 0, 1).float())[None]; y = torch.from_numpy(lab).float()[None, None]
    s = rand_scale(rng); H, W = lab.shape; nh, nw = int(H * s), int(W * s)
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False); y = F.interpolate(y, size=(nh, nw), mode="nearest")
    ph, pw = max(crop - nh, 0), max(crop - nw, 0)
    if ph or pw: x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)); y = F.pad(y, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=255)
    oy, ox = rng.randint(0, x.shape[2] - crop), rng.randint(0, x.shape[3] - crop)
    x, y = x[..., oy:oy + crop, ox:ox + crop], y[..., oy:oy + crop, ox:ox + crop]
    if rng.random() < 0.5: x, y = x.flip(-1), y.flip(-1)
    return x[0], y[0, 0].long()

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="images per side per round")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, {a.rounds} rounds x {a.n} images per side, round-robin; median images/s")
    print(f"{'files':30s} {'decode':>8s} {'ours':>8s} {'+normalise':>11s} {'exact':>8s} {'reference':>10s} {'ours/decode':>12s} "
          f"{'ours/reference':>15s} {'exact/reference':>16s}")
    with tempfile.TemporaryDirectory() as d:
        for kind, crop in (("voc", 513), ("cityscapes", 769)):
            files = write_files(Path(d), kind)
            tt, te = TrainTransform(crop, (0.5, 2.0)), TrainTransform(crop, (0.5, 2.0), mode="reference", label_pad=255)
            dec = lambda k: (read_image(files[k % len(files)][0]), read_label(files[k % len(files)][1]))
            sides = {"decode": lambda k: dec(k), "ours": lambda k: tt(*dec(k), rng=random.Random(k)),
                     "+normalise": lambda k: model_input(tt(*dec(k), rng=random.Random(k))[0], torch.contiguous_format),
                     "exact": lambda k: te(*dec(k), rng=random.Random(k)),
                     "reference": lambda k: reference_order(*dec(k), crop, random.Random(k))}
            for fn in sides.values(): fn(0)                                     # warm-up
            rates = {s: [] for s in sides}
            for _ in range(a.rounds):
                for s, fn in sides.items():
                    t0 = time.perf_counter()
                    for k in range(a.n): fn(k)
                    rates[s].append(a.n / (time.perf_counter() - t0))
            m = {s: statistics.median(v) for s, v in rates.items()}
            label = "VOC 500x375 jpg, crop 513" if kind == "voc" else "Cityscapes 2048x1024, crop 769"
            print(f"{label:30s} {m['decode']:8.1f} {m['ours']:8.1f} {m['+normalise']:11.1f} {m['exact']:8.1f} {m['reference']:10.1f} "
                  f"{m['ours'] / m['decode']:12.2f} {m['ours'] / m['reference']:15.2f} {m['exact'] / m['reference']:16.2f}")

if __name__ == "__main__":
    main()
