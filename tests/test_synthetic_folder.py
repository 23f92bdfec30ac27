"""The route a user's own data takes is the route the benchmark takes: the synthetic set written to disk as a folder
dataset (`u2pl.data.synthetic_to_folder`: same pixels, ids and split lists) with the synthetic preset on
`data.dataset: folder` trains to the same losses and weights, bit for bit, as the built-in synthetic dataset."""
import torch
from u2pl.presets import resolve_config
from u2pl.data import build_datasets, synthetic_to_folder
from u2pl.trainer import Trainer

SMALL = {"data.split": "8", "train.epochs": 2, "train.iters_per_epoch": 3, "semi.sup_only_epoch": 1, "runtime.device": "cpu",
         "runtime.num_threads": 1, "runtime.deterministic": True, "data.num_workers": 0}

def run(cfg):
    torch.set_num_threads(1)
    tr = Trainer(cfg, build_datasets(cfg), quiet=True)
    losses = []
    for _ in range(6):                                   # 3 supervised-only steps, then 3 U2PL steps
        if tr.iter_in_epoch >= tr.iters_per_epoch: tr.epoch, tr.iter_in_epoch = tr.epoch + 1, 0
        micro = next(iter(tr.epoch_batches()))
        terms, _ = tr.train_step(micro); tr.iter_in_epoch += 1; tr.global_iter += 1
        losses.append({k: float(v) for k, v in terms.items()})
    return losses, [p.detach().clone() for p in tr.model.parameters()]

def test_folder_route_equals_builtin_route(tmp_path):
    root = synthetic_to_folder(tmp_path / "syn", split="8", n_train=48, n_val=8)
    builtin = resolve_config("synthetic", {**SMALL, "data.extra": {"size": 96, "seed": 0, "n_train": 48, "n_val": 8},
                                           "runtime.run_dir": str(tmp_path / "a")})
    folder = resolve_config("synthetic", {**SMALL, "data.dataset": "folder", "data.data_root": str(root),
                                          "runtime.run_dir": str(tmp_path / "b")})
    assert folder.data.crop_size == builtin.data.crop_size == 65 and folder.data.num_classes == 9
    la, wa = run(builtin)
    lb, wb = run(folder)
    assert "loss_u" in la[-1] and la == lb, (la, lb)
    assert all(torch.equal(a, b) for a, b in zip(wa, wb))
