"""GPU code paths exercised on CPU. Mixed precision: bf16 autocast runs the whole U2PL step (teacher pseudo-labels,
entropy partition, unsupervised and contrastive losses, the memory bank) with finite losses and float32 queues and
weights. fp16 runs its GradScaler path (overflow, skipped step, backoff, scaler state in the checkpoint) on
CPU too, slowly. Channels-last (`runtime.channels_last: true` forces it on CPU) trains the same
weights as the default memory layout. The GPU runs themselves are not part of CI."""
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
    bank = ck["method"]["state"]["bank"]
    assert bank["buffer"].dtype == torch.float32 and int(bank["size"].sum()) > 0   # keys enqueued under autocast, stored fp32
    for sd in (ck["model"], ck["teacher"]["model"]):
        assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in sd.values() if v.is_floating_point())

def test_fp16_grad_scaler_path_on_cpu(tmp_path):
    # 1 supervised + 1 U2PL step; GradScaler's first scale (2**16) overflows fp16 gradients, so that step is skipped
    run(train_cmd(tmp_path / "run", "runtime.amp=fp16", "train.iters_per_epoch=1", "runtime.log_every=1"), timeout=400)
    rows = [json.loads(l) for l in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in rows] == [1, 2] and all(math.isfinite(r["loss"]) for r in rows)
    assert "loss_c" in rows[1] and rows[1]["loss_c"] > 0                      # the U2PL step ran under fp16 autocast
    assert rows[0]["amp_scale"] == 2.0 ** 15                                  # overflow on step 1 -> skipped, scale halved
    ck = load(tmp_path / "run/ckpt/latest.pt")
    assert ck["config"]["runtime"]["amp"] == "fp16" and ck["scaler"]["scale"] == rows[-1]["amp_scale"]
    assert ck["method"]["state"]["bank"]["buffer"].dtype == torch.float32
    for sd in (ck["model"], ck["teacher"]["model"]):
        assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in sd.values() if v.is_floating_point())

def test_channels_last_matches_default_layout_on_cpu(tmp_path):
    sets = ("train.iters_per_epoch=2", "runtime.log_every=1", "runtime.deterministic=true")
    out = {v: run(train_cmd(tmp_path / v, f"runtime.channels_last={v}", *sets), timeout=400).stdout for v in ("true", "false")}
    assert "; channels-last;" in out["true"] and "channels-last" not in out["false"]
    rows = {v: [json.loads(l) for l in (tmp_path / v / "metrics.jsonl").read_text().splitlines()] for v in out}
    assert [r["iter"] for r in rows["true"]] == [r["iter"] for r in rows["false"]] == [1, 2, 3, 4]
    assert any(r.get("loss_c", 0) > 0 for r in rows["true"])                  # the contrastive step ran channels-last
    for a, b in zip(rows["true"], rows["false"]):
        for k in ("loss", "loss_sup", "loss_u", "loss_c"):
            if k in b: assert math.isclose(a[k], b[k], rel_tol=1e-4, abs_tol=1e-6), (k, a, b)
    ck = {v: load(tmp_path / v / "ckpt/latest.pt") for v in out}
    w = ck["true"]["model"]["encoder.conv1.weight"]
    assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()   # the layout really changed
    for part in (lambda c: c["model"], lambda c: c["teacher"]["model"]):
        a, b = part(ck["true"]), part(ck["false"])
        assert a.keys() == b.keys()
        for k in a:
            if a[k].is_floating_point(): assert torch.allclose(a[k], b[k], atol=1e-4), k

def test_compiled_student_matches_eager_on_cpu(tmp_path):
    # runtime.compile names a backend: aot_eager traces the student with dynamo and differentiates the captured graph
    # with AOTAutograd (the machinery inductor builds on) without generating code, so it takes seconds on CPU
    sets = ("train.iters_per_epoch=2", "runtime.log_every=1", "runtime.deterministic=true")
    out = {v: run(train_cmd(tmp_path / v, f"runtime.compile={v}", *sets), timeout=400).stdout for v in ("aot_eager", "false")}
    assert "; compiled (aot_eager);" in out["aot_eager"] and "; compiled (" not in out["false"]
    rows = {v: [json.loads(l) for l in (tmp_path / v / "metrics.jsonl").read_text().splitlines()] for v in ("aot_eager", "false")}
    assert [r["iter"] for r in rows["aot_eager"]] == [r["iter"] for r in rows["false"]] == [1, 2, 3, 4]
    assert any(r.get("loss_c", 0) > 0 for r in rows["aot_eager"])          # the U2PL steps ran through the compiled forward
    for a, b in zip(rows["aot_eager"], rows["false"]):
        for k in ("loss", "loss_sup", "loss_u", "loss_c"):
            if k in b: assert math.isclose(a[k], b[k], rel_tol=1e-4, abs_tol=1e-6), (k, a, b)
    ck = {v: load(tmp_path / v / "ckpt/latest.pt") for v in rows}
    assert ck["aot_eager"]["config"]["runtime"]["compile"] == "aot_eager"
    for part in (lambda c: c["model"], lambda c: c["teacher"]["model"]):
        a, b = part(ck["aot_eager"]), part(ck["false"])
        assert a.keys() == b.keys()                                          # no `_orig_mod.` prefix in checkpoints
        for k in a:
            if a[k].is_floating_point(): assert torch.allclose(a[k], b[k], atol=1e-4), k
