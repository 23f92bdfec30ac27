"""Every preset trains: the trainer of each preset (VOC classic, VOC blended, Cityscapes, synthetic, custom), in paper
and in reference mode, builds on tiny data and takes one optimizer step of each method with the preset's own recipe
(OHEM and the aux head for Cityscapes, its contrastive settings, teacher copy rule, lr groups; U2PL with AEL with the
with_AEL branch's values on Cityscapes); only the sizes are
shrunk. A name used by a preset's code path but defined nowhere in the package fails here, not on a user's GPU."""
import math
import pytest
import torch
from u2pl.presets import resolve_config
from u2pl.datasets import toy_datasets, make_tiny_folder
from u2pl.trainer import Trainer
from u2pl.method import BUILTIN

SHRINK = {"model.backbone": "resnet18", "model.multi_grid": False, "model.aspp_dilations": [1, 2, 3], "model.decoder_width": 32,
          "data.crop_size": 33, "data.batch_size": 2, "data.batch_size_unlabeled": 2, "data.num_workers": 0,
          "train.epochs": 2, "train.iters_per_epoch": 2, "train.ohem_min_kept": 200, "semi.sup_only_epoch": 0,
          "contrastive.queue_capacity": 64, "contrastive.queue_capacity_bg": 64, "contrastive.num_queries": 8,
          "contrastive.num_negatives": 4, "contrastive.dim": 16, "runtime.device": "cpu", "runtime.num_threads": 1,
          "model.pretrained": "scratch"}      # gpu presets on CPU: random backbone weights, on purpose

@pytest.mark.parametrize("mode", ["paper", "reference"])
@pytest.mark.parametrize("method", list(BUILTIN))
@pytest.mark.parametrize("preset", ["voc_classic", "voc_blended", "cityscapes", "synthetic", "custom"])
def test_one_step_of_every_preset(tmp_path, preset, method, mode):
    over = {**SHRINK, "semi.method": method, "mode": mode, "runtime.run_dir": str(tmp_path / "run")}
    if preset == "custom":
        make_tiny_folder(tmp_path / "leaf", n=6, n_labeled=4)
        over.update({"data.data_root": str(tmp_path / "leaf"), "data.split": "2"})
    cfg = resolve_config(preset, over)
    C = cfg.data.num_classes
    tr = Trainer(cfg, toy_datasets(n_l=4, n_u=4, n_val=2, size=33, num_classes=min(C, 3)), quiet=True)
    before = [p.detach().clone() for p in tr.model.parameters()]
    terms, stats = tr.train_step(next(iter(tr.epoch_batches())))
    assert all(math.isfinite(float(v)) for v in terms.values()), terms
    assert ("loss_u" in terms) == (method != "suponly") and ("loss_cons_u" in terms) == (method == "u2pl_ael") and float(terms["loss_sup"]) > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.model.parameters()))      # the optimizer stepped
    if preset == "cityscapes": assert tr.method.sup.criterion == "ohem" and cfg.model.aux_head
    if preset == "cityscapes" and method == "u2pl_ael":                  # the with_AEL branch's values
        assert cfg.ael.acp_exclude == [0, 1, 2, 8, 10] and cfg.train.weight_decay == 1e-4 and cfg.ael.contrastive_start_epoch == 20

@pytest.mark.parametrize("dataset", ["synthetic", "folder"])
@pytest.mark.parametrize("preset", ["voc_classic", "cityscapes", "synthetic", "custom"])
def test_a_preset_on_another_dataset_trains(tmp_path, preset, dataset):
    # what --print-config accepts must train: the preset's recipe on another dataset, with that dataset's own data
    over = {**SHRINK, "data.dataset": dataset, "data.split": "4", "runtime.run_dir": str(tmp_path / "run")}
    if dataset == "folder":
        make_tiny_folder(tmp_path / "leaf", n=8, n_labeled=6)
        over["data.data_root"] = str(tmp_path / "leaf")
    else:
        over.update({"data.num_classes": 9, "data.extra": {"size": 40, "n_train": 16, "n_val": 4}})
    cfg = resolve_config(preset, over)
    from u2pl.data import build_datasets
    tr = Trainer(cfg, build_datasets(cfg), quiet=True)
    terms, _ = tr.train_step(next(iter(tr.epoch_batches())))
    assert all(math.isfinite(float(v)) for v in terms.values()), terms
