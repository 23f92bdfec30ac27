"""Checkpoint safety: bad files give a clear error naming the file, a crash during a save leaves the previous
checkpoint untouched, and a non-finite loss stops the run (naming the step and the loss terms) without
overwriting the last good checkpoint."""
import os, shutil
import pytest
from _helpers import train_cmd, run, load
from u2pl.core import atomic_save, safe_load, CheckpointError

@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    d = tmp_path_factory.mktemp("ck") / "run"
    run(train_cmd(d, "train.epochs=2", "train.max_iters=8"))         # stops after epoch 1 (8 iterations), writes latest.pt
    return d

def test_truncated_and_corrupt_checkpoints_name_the_file(one_epoch, tmp_path):
    good = (one_epoch / "ckpt/latest.pt").read_bytes()
    for name, data in [("truncated.pt", good[: len(good) // 3]), ("garbage.pt", os.urandom(4096)), ("empty.pt", b"")]:
        p = tmp_path / name; p.write_bytes(data)
        with pytest.raises(CheckpointError, match=name): safe_load(p)
        # the training command fails cleanly too: exit 1, one line naming the file, no traceback
        r = run(train_cmd(tmp_path / f"r_{name}", "train.epochs=2") + ["--resume", str(p)], check=False)
        assert r.returncode == 1 and name in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    r = run(train_cmd(tmp_path / "r_missing", "train.epochs=2") + ["--resume", str(tmp_path / "nope.pt")], check=False)
    assert r.returncode == 1 and "nope.pt" in r.stderr and "does not exist" in r.stderr

def test_crash_during_save_keeps_previous_checkpoint(one_epoch, tmp_path):
    ck = tmp_path / "latest.pt"; shutil.copy(one_epoch / "ckpt/latest.pt", ck)
    before = ck.read_bytes()
    def crash(tmp):                                                  # the new file is written and fsynced, the rename never happens
        assert tmp.exists() and tmp.parent == ck.parent
        raise KeyboardInterrupt("simulated crash")
    with pytest.raises(KeyboardInterrupt): atomic_save({"epoch": 99}, ck, _before_replace=crash)
    assert ck.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["latest.pt"]
    assert safe_load(ck)["epoch"] == 1
    # a hard kill mid-write leaves at most a stray temp file; the real checkpoint still loads and resumes
    (tmp_path / ".latest.pt.12345.tmp").write_bytes(before[:1000])
    assert safe_load(ck)["global_iter"] == 8

def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(one_epoch, tmp_path):
    d = tmp_path / "run"; shutil.copytree(one_epoch, d)
    before = (d / "ckpt/latest.pt").read_bytes()
    r = run(train_cmd(d, "train.epochs=2", "train.lr=1e30"), check=False)     # resumes at epoch 1 (the semi phase) and explodes
    assert r.returncode == 1, r.stderr[-2000:]
    msg = r.stderr
    assert "non-finite loss at global step" in msg
    step = int(msg.split("global step ")[1].split()[0])
    assert step >= 8                                                  # after the resumed position
    for term in ("loss=", "loss_sup=", "loss_u=", "loss_c="): assert term in msg, msg
    assert "left intact" in msg
    assert (d / "ckpt/latest.pt").read_bytes() == before              # not overwritten
    assert load(d / "ckpt/latest.pt")["global_iter"] == 8

def test_resume_into_a_different_model_names_the_option(one_epoch, tmp_path):
    d = tmp_path / "run"; shutil.copytree(one_epoch, d)
    before = (d / "ckpt/latest.pt").read_bytes()
    r = run(train_cmd(d, "train.epochs=2", "model.decoder_width=32"), check=False)   # resume: auto finds the width-256 run
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "model.decoder_width: checkpoint 256 vs run 32" in r.stderr and "size mismatch" in r.stderr, r.stderr[-2000:]
    assert "runtime.resume=none" in r.stderr and (d / "ckpt/latest.pt").read_bytes() == before

def _as_v1(ck: dict) -> dict:
    "A checkpoint written back in the layout of the code before the method interface (u2pl-checkpoint-v1)."
    v1 = {k: v for k, v in ck.items() if k not in ("method", "prediction")}
    state = {**ck["method"]["state"], **ck["method"]["ranks"][0]}     # v1 kept the one process's AEL plan with the banks
    v1["format"], v1["memory_bank"], v1["ael"] = "u2pl-checkpoint-v1", state.pop("bank", None), state or None
    v1["config"] = {**ck["config"], "contrastive": {**ck["config"]["contrastive"], "low_entropy_threshold": 20.0}}
    return v1

@pytest.mark.parametrize("method", ["u2pl", "u2pl_ael"])
def test_a_checkpoint_of_the_older_layout_resumes_exactly(tmp_path, method):
    import torch
    sets = ("runtime.deterministic=true", f"semi.method={method}", "ael.contrastive_start_epoch=1")
    run(train_cmd(tmp_path / "a", "train.epochs=2", "train.max_iters=10", *sets))          # stops mid-epoch 1 (the semi phase)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    torch.save(_as_v1(load(tmp_path / "a/ckpt/latest.pt")), tmp_path / "b/ckpt/latest.pt")
    for d in ("a", "b"): run(train_cmd(tmp_path / d, "train.epochs=2", *sets))             # both resume and finish
    log = (tmp_path / "b/train.log").read_text()
    assert "checkpoint migrated from u2pl-checkpoint-v1" in log and "contrastive.low_entropy_threshold=20.0 dropped" in log
    a, b = load(tmp_path / "a/ckpt/latest.pt"), load(tmp_path / "b/ckpt/latest.pt")
    assert a["global_iter"] == b["global_iter"] == 16 and b["format"] == "u2pl-checkpoint-v2"
    for k, v in a["model"].items(): assert torch.equal(v, b["model"][k]), k
    for k, v in a["teacher"]["model"].items(): assert torch.equal(v, b["teacher"]["model"][k]), k
    sa, sb = a["method"]["state"], b["method"]["state"]
    assert sa.keys() == sb.keys() and torch.equal(sa["bank"]["buffer"], sb["bank"]["buffer"])
    if method == "u2pl_ael": assert torch.equal(sa["confidence"]["conf"], sb["confidence"]["conf"]) and a["method"]["ranks"] == b["method"]["ranks"]
