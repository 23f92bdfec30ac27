"""Mixed precision on CPU: bf16 autocast runs the whole U2PL step (teacher pseudo-labels, entropy partition, unsupervised
and contrastive losses, the memory bank) with finite losses and float32 queues and weights; fp16 needs CUDA and says so.
This exercises on CPU the dtype plumbing the GPU path relies on (the GPU run itself is not part of CI)."""
import json, math
import torch
from _helpers import run, train_cmd, load

def test_bf16_u2pl_step_on_cpu(tmp_path):
    run(train_cmd(tmp_path / "run", "runtime.amp=bf16", "train.iters_per_epoch=2", "runtime.log_every=1"), timeout=400)
    rows = [json.loads(l) for l in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    semi = [r for r in rows if "loss_c" in r]
    assert len(semi) == 2 and all(math.isfinite(r[k]) for r in semi for k in ("loss", "loss_sup", "loss_u", "loss_c"))
    assert all(r["loss_c"] > 0 for r in semi)                         # the contrastive term really ran
    ck = load(tmp_path / "run/ckpt/latest.pt")
    assert ck["config"]["runtime"]["amp"] == "bf16"
    bank = ck["memory_bank"]
    assert bank["buffer"].dtype == torch.float32 and int(bank["size"].sum()) > 0   # keys enqueued under autocast, stored fp32
    for sd in (ck["model"], ck["teacher"]["model"]):
        assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in sd.values() if v.is_floating_point())

def test_fp16_on_cpu_is_a_clear_error(tmp_path):
    r = run(train_cmd(tmp_path / "run", "runtime.amp=fp16"), check=False)
    assert r.returncode != 0 and "runtime.amp='fp16' needs CUDA" in r.stdout + r.stderr
    assert not (tmp_path / "run/ckpt/latest.pt").exists()
