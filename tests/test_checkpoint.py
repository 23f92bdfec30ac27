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
