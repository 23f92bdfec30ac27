"""u2pl.data end to end on tiny on-the-fly datasets (VOC, Cityscapes labelIds only, binary folder, synthetic): the
datasets `build_datasets` gives the trainer, loaded the way the trainer loads them (`EpochPlan` + `make_loader`, with
worker processes), errors surfacing from workers, and the epoch lengths of the reference's loaders (pascal_voc.py:101-157)."""
import warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from u2pl.data import EpochPlan, build_datasets, make_loader
from u2pl.datasets import _WARNED, make_tiny_cityscapes, make_tiny_folder, make_tiny_voc
from u2pl.transforms import model_input
from u2pl.presets import resolve_config
from u2pl.splits import load_split


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


def _cfg(preset, tmp_path, **over):
    return resolve_config(preset, {"runtime.run_dir": str(tmp_path / "run"), "data.splits_root": str(tmp_path / "splits"), **over})


def _epoch(ds, plan: EpochPlan, which: str, workers: int = 0):
    "Every batch of epoch 0 of stream `which`, as the trainer loads it."
    return list(make_loader(ds, plan.shard_batches(0, 0, which), num_workers=workers))


@pytest.mark.parametrize("workers", [0, 2])
def test_voc_semi_datasets(tmp_path, workers):
    make_tiny_voc(tmp_path / "VOC2012", n=9, size=(30, 41))
    cfg = _cfg("voc_classic", tmp_path, **{"data.data_root": str(tmp_path / "VOC2012"), "data.split": "2", "data.crop_size": 24})
    out = build_datasets(cfg)
    assert out["info"]["num_classes"] == 21 and len(out["labeled"]) == 2 and len(out["unlabeled"]) == 6
    plan = EpochPlan(len(out["labeled"]), len(out["unlabeled"]), 2, 2)
    assert plan.steps == 3                                        # an epoch is one pass over the unlabelled set
    lab, unl = _epoch(out["labeled"], plan, "l", workers), _epoch(out["unlabeled"], plan, "u", workers)
    assert len(lab) == len(unl) == 3
    for (xl, yl), (xu, yu) in zip(lab, unl):
        assert xl.shape == xu.shape == (2, 3, 24, 24) and xl.dtype == torch.uint8 and yl.dtype == torch.uint8   # pixels, file dtype
        assert xl.is_contiguous(memory_format=torch.channels_last) and model_input(xl).dtype == torch.float32
        assert set(yl.unique().tolist()) <= set(range(21)) | {255}
    xv, yv = out["val"][0]; assert xv.shape[0] == 3 and yv.shape == xv.shape[1:]
    assert (tmp_path / "splits/2/manifest.json").is_file()


def test_cityscapes_labelids_only(tmp_path):
    make_tiny_cityscapes(tmp_path / "city", n=5)
    cfg = _cfg("cityscapes", tmp_path, **{"data.data_root": str(tmp_path / "city"), "data.split": "2", "data.crop_size": 16})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always"); _WARNED.clear()
        out = build_datasets(cfg)
        items = [out["labeled"][i] for i in range(len(out["labeled"]))] + [out["val"][0]]
    assert len(out["val"]) == 1 and len(out["unlabeled"]) == 2
    assert all(set(y.unique().tolist()) <= set(range(19)) | {255} for _, y in items)
    assert sum("labelIds" in str(m.message) for m in w) == 1


def test_folder_binary_semi_and_suponly(tmp_path):
    ids = make_tiny_folder(tmp_path / "leaf", n=8, n_labeled=5)
    cfg = _cfg("custom", tmp_path, **{"data.data_root": str(tmp_path / "leaf"), "data.split": "2", "data.crop_size": 16})
    out = build_datasets(cfg)
    assert len(out["labeled"]) == 2 and len(out["unlabeled"]) == 6
    sup = EpochPlan(len(out["labeled"]), 0, 2, 2, semi=False)   # SupOnly: an epoch is one pass over the labelled set
    batches = _epoch(out["labeled"], sup, "l")
    assert len(batches) == 1 and all(set(y.unique().tolist()) <= {0, 1, 255} for _, y in batches)
    # unlabelled images without masks give all-ignore labels (monitoring only)
    uds = out["unlabeled"]; no_mask = [i for i, e in enumerate(uds.ids) if e not in ids[:5]]
    assert no_mask and all((uds[i][1] == 255).all() for i in no_mask)


@pytest.mark.parametrize("workers", [0, 1])
def test_errors_surface_from_workers(tmp_path, workers):
    make_tiny_voc(tmp_path / "VOC2012", n=5)
    cfg = _cfg("voc_classic", tmp_path, **{"data.data_root": str(tmp_path / "VOC2012"), "data.split": "2", "data.crop_size": 16})
    out = build_datasets(cfg)
    lab = out["labeled"]
    plan = EpochPlan(len(lab), 0, 1, 1, semi=False)
    bad = lab.ids[0]
    Image.fromarray(np.full((40, 52), 40, np.uint8), "L").save(tmp_path / f"VOC2012/SegmentationClassAug/{bad}.png")
    with pytest.raises(ValueError, match=rf"{bad}\.png has values outside \[0, 21\) and ignore 255: \[40\]"):
        _epoch(lab, plan, "l", workers)
    (tmp_path / f"VOC2012/SegmentationClassAug/{bad}.png").unlink()
    (tmp_path / f"VOC2012/JPEGImages/{bad}.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=rf"{bad}\.jpg.*labeled\.txt:\d+ '{bad}'"):
        _epoch(lab, plan, "l", workers)


def test_synthetic_epochs():
    plan = EpochPlan(64, 960, 16, 16)
    assert plan.steps == 960 // 16
    a, b = plan.stream(3, "l"), plan.stream(3, "l")
    assert torch.equal(a, b) and not torch.equal(a, plan.stream(4, "l"))         # a pure function of (seed, epoch, stream)
    assert sorted(np.bincount(a.tolist(), minlength=64)) == [15] * 64           # each labelled image U/N = 15 times an epoch
    assert not torch.equal(EpochPlan(64, 960, 16, 16, seed=1).stream(3, "l"), a)


def test_synthetic_split_lists_committed():
    root = Path(__file__).resolve().parents[1] / "data/splits/synthetic"
    for n in (64, 128, 256, 512, 1024):
        s = load_split(root, n)
        assert len(s.labeled) == n and len(s.labeled) + len(s.unlabeled) == 1024 and len(s.val) == 256
    assert set(load_split(root, 64).labeled) < set(load_split(root, 128).labeled)
