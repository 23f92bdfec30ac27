"""Training end to end (python -m u2pl.train) on tiny on-the-fly datasets in the VOC, Cityscapes (labelIds only) and
custom-folder layouts: split generation on first use, loaders with a worker process, evaluation with the dataset's
class count, and the protocol line naming the split."""
import json, sys
from u2pl.datasets import make_tiny_cityscapes, make_tiny_folder, make_tiny_voc
from _helpers import run

SMALL = ["model.backbone=resnet18", "model.multi_grid=false", "model.aspp_dilations=[1,2,3]", "data.crop_size=33",
         "data.batch_size=2", "data.batch_size_unlabeled=2", "train.epochs=2", "train.iters_per_epoch=2", "data.num_workers=1",
         "contrastive.queue_capacity=64", "contrastive.queue_capacity_bg=64", "contrastive.num_queries=8",
         "contrastive.num_negatives=4", "runtime.device=cpu", "runtime.num_threads=1",
         "model.pretrained=scratch"]   # the gpu recipe on CPU: random weights, on purpose

def train(tmp_path, preset, *sets):
    cmd = [sys.executable, "-m", "u2pl.train", "--preset", preset, "--run-dir", str(tmp_path / "run")]
    for s in SMALL + list(sets): cmd += ["--set", s]
    r = run(cmd, timeout=300)
    rows = [json.loads(l) for l in (tmp_path / "run/eval.jsonl").read_text().splitlines()]
    return r, rows

def test_custom_binary_folder(tmp_path):
    ids = make_tiny_folder(tmp_path / "leaf", n=10, n_labeled=7, size=(40, 48))
    (tmp_path / "leaf/val.txt").write_text("\n".join(ids[5:7]) + "\n")          # two labelled images held out for evaluation
    with open(tmp_path / "leaf/dataset.yaml", "a") as f: f.write("val: val.txt\n")
    r, rows = train(tmp_path, "custom", f"data.data_root={tmp_path / 'leaf'}", "data.split=2", f"data.splits_root={tmp_path / 'splits'}")
    sp = tmp_path / "splits/2"
    lab, unl = (sp / "labeled.txt").read_text().split(), (sp / "unlabeled.txt").read_text().split()
    assert len(lab) == 2 and set(lab) <= set(ids[:5]) and not set(lab) & set(unl) and not set(ids[5:7]) & set(lab + unl)
    assert [r["epoch"] for r in rows] == [1, 2] and all(len(r["iou"]) == 2 for r in rows)
    assert rows[-1]["protocol"]["split"] == "2" and 0 <= rows[-1]["miou"] <= 1
    cfg = (tmp_path / "run/config.yaml").read_text()
    assert "dataset: folder" in cfg and "num_classes: 2" in cfg

def test_voc_layout_suponly(tmp_path):
    make_tiny_voc(tmp_path / "VOC2012", n=9, size=(30, 41))
    r, rows = train(tmp_path, "voc_classic", f"data.data_root={tmp_path / 'VOC2012'}", "data.split=2",
                    f"data.splits_root={tmp_path / 'splits'}", "semi.method=suponly")
    assert (tmp_path / "splits/2/manifest.json").is_file()
    assert all(len(r["iou"]) == 21 for r in rows) and rows[-1]["model"] == "student"

def test_cityscapes_labelids_u2pl_sliding(tmp_path):
    make_tiny_cityscapes(tmp_path / "city", n=6)
    r, rows = train(tmp_path, "cityscapes", f"data.data_root={tmp_path / 'city'}", "data.split=2",
                    f"data.splits_root={tmp_path / 'splits'}", "eval.crop=33", "eval.stride=22", "train.criterion=ce",
                    "model.aux_head=false")
    assert all(len(r["iou"]) == 19 for r in rows) and rows[-1]["protocol"]["eval_mode"] == "sliding" and rows[-1]["protocol"]["stride"] == 22
    assert "labelIds" in r.stdout + r.stderr                                     # the on-the-fly conversion is announced

def test_gpu_preset_without_weights_is_refused_before_anything_starts(tmp_path):
    make_tiny_voc(tmp_path / "VOC2012", n=9, size=(30, 41))
    cmd = [sys.executable, "-m", "u2pl.train", "--preset", "voc_classic", "--run-dir", str(tmp_path / "run")]
    for s in [x for x in SMALL if x != "model.pretrained=scratch"] + [f"data.data_root={tmp_path / 'VOC2012'}", "data.split=2",
                                                                     f"data.splits_root={tmp_path / 'splits'}"]:
        cmd += ["--set", s]
    r = run(cmd, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("u2pl.train [rank 0]: invalid configuration: model.pretrained is not set") and "u2pl-weights fetch" in line
    assert "model.pretrained=scratch" in line and not (tmp_path / "run").exists()
