"""Two gloo processes == one process with the same global batch.

U2PL has per-GPU statistics by definition (the entropy percentiles of L_u and of the contrastive masks, the
contrastive anchor sampling, BN batch statistics), so "the same global batch" means: one process that runs the
two ranks' micro-batches as two gradient-accumulation steps (`train.accum_steps: 2`). The trainer's sampler,
counter-based seeding and two-pass memory-bank update make the two layouts compute the same thing; the only
difference is the order of floating-point sums (DDP averages gradients, accumulation adds halves).

BatchNorm: `model.bn_mode: frozen` (BN in eval mode, per-sample independent). With train-mode BN the student's
forward is still identical (each rank normalises its own micro-batch, like each accumulation step), but running
statistics differ: DDP broadcasts rank 0's buffers, one process updates them twice per step. CPU/gloo has no
SyncBatchNorm in torch.
"""
import pytest
import torch
from _helpers import train_cmd, run, load

SETS = ["model.bn_mode=frozen", "train.epochs=2", "semi.sup_only_epoch=1", "eval.models=[teacher, student]"]
# U2PL with AEL: its confidence bank is updated once per step from the whole global batch, its presence bank from
# every rank's images, its partners and ACP draws are keyed by step and shard; the contrastive term is on in epoch 1
METHODS = {"u2pl": [], "u2pl_ael": ["semi.method=u2pl_ael", "ael.contrastive_start_epoch=1"]}

@pytest.mark.parametrize("method", list(METHODS))
def test_two_ranks_equal_one_process_with_accumulation(tmp_path, method):
    sets = SETS + METHODS[method]
    run(train_cmd(tmp_path / "ddp", *sets, nproc=2))
    run(train_cmd(tmp_path / "one", *sets, "train.accum_steps=2"))
    a, b = load(tmp_path / "ddp/ckpt/latest.pt"), load(tmp_path / "one/ckpt/latest.pt")
    assert a["world_size"] == 2 and b["world_size"] == 1
    assert a["global_iter"] == b["global_iter"] == 8 and a["shards"] == b["shards"] == 2
    # the semi phase ran: the queues hold keys, and the teacher moved away from its copy
    assert a["memory_bank"]["size"].sum() > 0
    # the EMA teacher lags the student by far more than the tolerance below: the comparison can fail
    lag = max((a["model"][k] - a["teacher"]["model"][k]).abs().max().item() for k in a["model"] if a["model"][k].is_floating_point())
    assert lag > 1e-3
    for k, v in a["model"].items():
        w = b["model"][k]
        if v.is_floating_point(): torch.testing.assert_close(v, w, rtol=1e-4, atol=1e-5, msg=f"model.{k}")
        else: assert torch.equal(v, w), k
    for k, v in a["teacher"]["model"].items():
        w = b["teacher"]["model"][k]
        if v.is_floating_point(): torch.testing.assert_close(v, w, rtol=1e-4, atol=1e-5, msg=f"teacher.{k}")
    ma, mb = a["memory_bank"], b["memory_bank"]
    assert torch.equal(ma["size"], mb["size"]) and torch.equal(ma["ptr"], mb["ptr"])
    torch.testing.assert_close(ma["buffer"], mb["buffer"], rtol=1e-4, atol=1e-5)
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    for i in sa: torch.testing.assert_close(sa[i]["momentum_buffer"], sb[i]["momentum_buffer"], rtol=1e-3, atol=1e-5)
    if method == "u2pl_ael":
        ea, eb = a["ael"], b["ael"]
        torch.testing.assert_close(ea["confidence"]["conf"], eb["confidence"]["conf"], rtol=1e-4, atol=1e-6)
        assert torch.equal(ea["presence"]["present"], eb["presence"]["present"]) and ea["presence"]["present"].any()
        assert not torch.equal(ea["confidence"]["conf"], torch.zeros_like(ea["confidence"]["conf"]))
