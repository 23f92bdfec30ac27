"""u2pl.data end to end on tiny on-the-fly datasets (VOC, Cityscapes labelIds only, binary folder, synthetic):
loaders with worker processes, errors surfacing from workers, and the semi/suponly balancing of reference §6.3."""
import random, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from u2pl import data as D
from u2pl.splits import load_split, read_list


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.mark.parametrize("workers", [0, 2])
def test_voc_semi_loaders(tmp_path, workers):
    ids = D.make_tiny_voc(tmp_path / "VOC2012", n=9, size=(30, 41))
    ld = D.build_loaders("voc", 2, data_root=tmp_path / "VOC2012", splits_root=tmp_path / "splits", batch_size=2,
                         crop_size=24, num_workers=workers, eval_mode="center_crop", eval_crop=32)
    assert ld.info.num_classes == 21 and len(ld.split.labeled) == 2 and len(ld.split.unlabeled) == 6
    assert len(ld.labeled.dataset) == len(ld.unlabeled.dataset) == 6 and len(ld.labeled) == len(ld.unlabeled) == 3
    for (xl, yl), (xu, yu) in zip(ld.labeled, ld.unlabeled):
        assert xl.shape == xu.shape == (2, 3, 24, 24) and yl.dtype == torch.int64
        assert set(yl.unique().tolist()) <= set(range(21)) | {255}
    xv, yv = next(iter(ld.val)); assert xv.shape == (1, 3, 32, 32) and (yv[:, :1] == 255).all()
    assert (tmp_path / "splits/2/manifest.json").is_file()


def test_cityscapes_labelids_only(tmp_path):
    lines = D.make_tiny_cityscapes(tmp_path / "city", n=5)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always"); D._WARNED.clear()
        ld = D.build_loaders("cityscapes", 2, data_root=tmp_path / "city", splits_root=tmp_path / "splits", batch_size=1,
                             crop_size=16, num_workers=0)
        batches = list(ld.labeled) + list(ld.val)
    assert len(ld.split.val) == 1 and len(ld.split.unlabeled) == 2
    assert all(set(y.unique().tolist()) <= set(range(19)) | {255} for _, y in batches)
    assert sum("labelIds" in str(m.message) for m in w) == 1


def test_folder_binary_semi_and_suponly(tmp_path):
    ids = D.make_tiny_folder(tmp_path / "leaf", n=8, n_labeled=5)
    semi = D.build_loaders("leaf", 2, data_root=tmp_path / "leaf", splits_root=tmp_path / "splits", batch_size=2, crop_size=16)
    assert len(semi.labeled.dataset) == 6                    # U = |unlabelled| = 8 - 2
    sup = D.build_loaders("leaf", 2, data_root=tmp_path / "leaf", splits_root=tmp_path / "splits", batch_size=2, crop_size=16,
                          semi=False)
    assert sup.unlabeled is None and len(sup.labeled.dataset) == 2
    for _, y in sup.labeled: assert set(y.unique().tolist()) <= {0, 1, 255}
    # unlabelled images without masks give all-ignore labels (monitoring only)
    uds = semi.unlabeled.dataset; no_mask = [i for i, e in enumerate(uds.ids) if e not in ids[:5]]
    assert no_mask and all((uds[i][1] == 255).all() for i in no_mask)


@pytest.mark.parametrize("workers", [0, 1])
def test_errors_surface_from_workers(tmp_path, workers):
    ids = D.make_tiny_voc(tmp_path / "VOC2012", n=5)
    kw = dict(data_root=tmp_path / "VOC2012", splits_root=tmp_path / "splits", batch_size=1, crop_size=16, num_workers=workers, semi=False)
    sp = D.build_loaders("voc", 2, **kw).split
    bad = sp.labeled[0]
    Image.fromarray(np.full((40, 52), 40, np.uint8), "L").save(tmp_path / f"VOC2012/SegmentationClassAug/{bad}.png")
    with pytest.raises(ValueError, match=rf"{bad}\.png has values outside \[0, 21\) and ignore 255: \[40\]"):
        list(D.build_loaders("voc", 2, **kw).labeled)
    (tmp_path / f"VOC2012/SegmentationClassAug/{bad}.png").unlink()
    (tmp_path / f"VOC2012/JPEGImages/{bad}.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=rf"{bad}\.jpg.*labeled\.txt:\d+ '{bad}'"):
        list(D.build_loaders("voc", 2, **kw).labeled)


def test_synthetic_balancing_and_epochs():
    ld = D.build_loaders("synthetic", 64, batch_size=16, crop_size=32, dataset_kwargs=dict(size=32))
    assert len(ld.labeled) == len(ld.unlabeled) == 960 // 16
    ld.set_epoch(3); a = list(ld.labeled.sampler); ld.set_epoch(3); assert list(ld.labeled.sampler) == a
    ld.set_epoch(4); assert list(ld.labeled.sampler) != a
    # resampling is fixed at construction by the seed
    again = D.build_loaders("synthetic", 64, batch_size=16, crop_size=32, dataset_kwargs=dict(size=32))
    assert again.labeled.dataset.ids == ld.labeled.dataset.ids
    other = D.build_loaders("synthetic", 64, batch_size=16, crop_size=32, seed=1, dataset_kwargs=dict(size=32))
    assert other.labeled.dataset.ids != ld.labeled.dataset.ids


def test_synthetic_split_lists_committed():
    root = Path(__file__).resolve().parents[1] / "data/splits/synthetic"
    for n in (64, 128, 256, 512, 1024):
        s = load_split(root, n)
        assert len(s.labeled) == n and len(s.labeled) + len(s.unlabeled) == 1024 and len(s.val) == 256
    assert set(load_split(root, 64).labeled) < set(load_split(root, 128).labeled)
