"""`kill -9` a run after its first checkpoint appears, resume it, and get exactly the weights of an uninterrupted run.

Deterministic CPU settings (`--deterministic`, one thread). Mid-epoch checkpoints (`runtime.ckpt_every_iters: 3`,
8 iterations per epoch) make the first checkpoint a mid-epoch one, so the resume also exercises skipping the
finished part of an epoch. Exactness rests on the trainer's counter-based seeding (every random draw is a function
of seed, iteration and shard; every sample's augmentation of seed, epoch and position) plus the saved
model / teacher / optimizer / memory bank state.
"""
import json, os, signal, subprocess, time
import pytest
import torch
from _helpers import train_cmd, run, load, env, ROOT

SETS = ["train.epochs=3", "runtime.ckpt_every_iters=3", "runtime.deterministic=true"]

def _equal_states(a, b):
    for part in ("model",):
        for k in a[part]: assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    for k in a["teacher"]["model"]: assert torch.equal(a["teacher"]["model"][k], b["teacher"]["model"][k]), f"teacher.{k}"
    for k in ("buffer", "ptr", "size"): assert torch.equal(a["memory_bank"][k], b["memory_bank"][k]), f"memory_bank.{k}"
    for i, s in a["optimizer"]["state"].items():
        assert torch.equal(s["momentum_buffer"], b["optimizer"]["state"][i]["momentum_buffer"])
    assert a["global_iter"] == b["global_iter"] and a["best"] == b["best"]
    if a.get("ael"):                                              # U2PL with AEL: both banks and the epoch's partner plan
        for k in ("conf", "seen"): assert torch.equal(a["ael"]["confidence"][k], b["ael"]["confidence"][k]), k
        assert torch.equal(a["ael"]["presence"]["present"], b["ael"]["presence"]["present"])
        assert a["ael"]["acm_plan"] == b["ael"]["acm_plan"]

METHODS = {"u2pl": [], "u2pl_ael": ["semi.method=u2pl_ael", "ael.contrastive_start_epoch=1"]}

@pytest.mark.parametrize("method", list(METHODS))
def test_kill9_then_resume_matches_uninterrupted(tmp_path, method):
    SETS = globals()["SETS"] + METHODS[method]
    run(train_cmd(tmp_path / "full", *SETS))
    full = load(tmp_path / "full/ckpt/latest.pt")
    assert full["global_iter"] == 24

    d = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(d, *SETS), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env(), cwd=ROOT)
    ck, t0 = d / "ckpt/latest.pt", time.time()
    while not ck.exists():
        assert proc.poll() is None, f"run ended before its first checkpoint: {proc.stderr.read().decode()[-2000:]}"
        assert time.time() - t0 < 600, "no checkpoint after 600 s (hung?)"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first = load(ck)
    assert first["global_iter"] < 24, "the run was not killed mid-run"

    run(train_cmd(d, *SETS))                                      # runtime.resume defaults to auto
    assert "resumed from" in (d / "train.log").read_text()
    _equal_states(full, load(d / "ckpt/latest.pt"))
    # the logs read as one run: no iteration logged twice
    iters = [json.loads(l)["iter"] for l in (d / "metrics.jsonl").read_text().splitlines()]
    assert iters == sorted(set(iters)) and iters[-1] == 24
