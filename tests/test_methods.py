"""The conformance test: every registered method (`u2pl.method.BUILTIN`, and FixMatch's same-network form) on the toy preset, through the same checks.

- a run trains and logs its method's numbers, and its checkpoint records the method and the network that predicts;
- `kill -9` after the first (mid-epoch) checkpoint, then resume: exactly the weights, optimizer and method state of an
  uninterrupted run (deterministic CPU settings, one thread; `runtime.ckpt_every_iters: 3` makes the first checkpoint a
  mid-epoch one, so the resume also skips the finished part of an epoch), and the logs read as one run;
- two gloo ranks == one process with the same global batch (`train.accum_steps: 2`), with batch norm frozen (in train
  mode each rank normalises its own micro-batch and DDP broadcasts rank 0's running statistics, so the two layouts
  differ by design; CPU/gloo has no SyncBatchNorm): the student, the teacher and the method's state agree up to the order
  of floating-point sums;
- two ranks stopped mid-epoch and resumed == two ranks uninterrupted, bit for bit (each rank gets its own per-rank method
  state back: AEL's partner plan, and in reference mode its unsynchronised banks);
- the checkpoint round trip: a fresh trainer of the same config loads it and holds the same method state;
- `u2pl-predict` on the checkpoint, and the explorer's data (`explore_split`) of it.
"""
import json, os, signal, subprocess, sys, time
import pytest
import torch
from u2pl.method import BUILTIN
from _helpers import train_cmd, run, load, env, ROOT

# every built-in method, with the settings that make the toy run exercise everything (AEL: its contrastive term in the first
# semi-supervised epoch), and the variants a method's settings select (FixMatch's same-network form: no EMA teacher)
CASES = {m: (m, []) for m in BUILTIN}
CASES["u2pl_ael"] = ("u2pl_ael", ["ael.contrastive_start_epoch=1"])
CASES["fixmatch_student"] = ("fixmatch", ["fixmatch.teacher=student"])
RESUME = ["train.epochs=3", "train.iters_per_epoch=8", "runtime.ckpt_every_iters=3", "runtime.deterministic=true"]
DDP = ["model.bn_mode=frozen", "train.epochs=2", "train.iters_per_epoch=4", "semi.sup_only_epoch=1", "eval.models=[teacher, student]"]

def _sets(case, base): return [*base, f"semi.method={CASES[case][0]}", *CASES[case][1]]

def _walk(a, b, path, check):
    "Apply `check(x, y, path)` to every pair of tensors in two nested states; the structure and other values must be equal."
    if torch.is_tensor(a): assert torch.is_tensor(b), path; check(a, b, path); return
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (path, sorted(a), sorted(b) if isinstance(b, dict) else b)
        for k in a: _walk(a[k], b[k], f"{path}.{k}", check)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)): _walk(x, y, f"{path}[{i}]", check)
    else: assert a == b, (path, a, b)

def _exact(x, y, path): assert x.dtype == y.dtype and torch.equal(x, y), path

def _close(x, y, path):
    if x.is_floating_point(): torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5, msg=path)
    else: assert torch.equal(x, y), path

@pytest.mark.parametrize("method", list(CASES))
def test_kill9_then_resume_matches_uninterrupted(tmp_path, method):
    sets = _sets(method, RESUME)
    run(train_cmd(tmp_path / "full", *sets))
    full = load(tmp_path / "full/ckpt/latest.pt")
    assert full["global_iter"] == 24 and full["method"]["name"] == CASES[method][0] and full["format"] == "u2pl-checkpoint-v2"
    assert full["prediction"] == ("student" if full["teacher"] is None else "teacher")

    d = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(d, *sets), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env(), cwd=ROOT)
    ck, t0 = d / "ckpt/latest.pt", time.time()
    while not ck.exists():
        assert proc.poll() is None, f"run ended before its first checkpoint: {proc.stderr.read().decode()[-2000:]}"
        assert time.time() - t0 < 600, "no checkpoint after 600 s (hung?)"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert load(ck)["global_iter"] < 24, "the run was not killed mid-run"

    run(train_cmd(d, *sets))                                      # runtime.resume defaults to auto
    assert "resumed from" in (d / "train.log").read_text()
    got = load(d / "ckpt/latest.pt")
    for part in ("model", "teacher", "optimizer", "method", "scaler", "best", "global_iter", "epoch", "prediction"):
        _walk(full[part], got[part], part, _exact)
    iters = [json.loads(l)["iter"] for l in (d / "metrics.jsonl").read_text().splitlines()]
    assert iters == sorted(set(iters)) and iters[-1] == 24        # the logs read as one run: no step logged twice

@pytest.mark.parametrize("method", list(CASES))
def test_two_ranks_equal_one_process_with_accumulation(tmp_path, method):
    sets = _sets(method, DDP)
    run(train_cmd(tmp_path / "ddp", *sets, nproc=2))
    run(train_cmd(tmp_path / "one", *sets, "train.accum_steps=2"))
    a, b = load(tmp_path / "ddp/ckpt/latest.pt"), load(tmp_path / "one/ckpt/latest.pt")
    assert a["world_size"] == 2 and b["world_size"] == 1
    assert a["global_iter"] == b["global_iter"] == 8 and a["shards"] == b["shards"] == 2
    if a["teacher"] is not None:                                  # the EMA teacher lags the student by far more than the tolerance
        lag = max((v - a["teacher"]["model"][k]).abs().max().item() for k, v in a["model"].items() if v.is_floating_point())
        assert lag > 1e-3
    bank = a["method"]["state"].get("bank")
    if bank is not None: assert bank["size"].sum() > 0           # the semi-supervised phase ran: the queues hold keys
    _walk(a["model"], b["model"], "model", _close)
    _walk(a["teacher"], b["teacher"], "teacher", _close)
    _walk(a["method"]["state"], b["method"]["state"], "method", _close)
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    for i in sa: torch.testing.assert_close(sa[i]["momentum_buffer"], sb[i]["momentum_buffer"], rtol=1e-3, atol=1e-5)

@pytest.mark.parametrize("method,mode", [(m, "paper") for m in CASES] + [("u2pl_ael", "reference")])
def test_two_ranks_stop_and_resume_match_uninterrupted(tmp_path, method, mode):
    # each rank gets its own per-rank method state back (AEL: its partner plan; in reference mode its unsynchronised banks)
    sets = [*_sets(method, DDP), f"mode={mode}", "runtime.deterministic=true"]
    run(train_cmd(tmp_path / "full", *sets, nproc=2))
    run(train_cmd(tmp_path / "cut", *sets, "train.max_iters=5", nproc=2))      # stops mid-epoch (epoch 1, step 1 of 4)
    cut = load(tmp_path / "cut/ckpt/latest.pt")
    assert cut["iter_in_epoch"] == 1 and len(cut["method"]["ranks"]) == 2
    run(train_cmd(tmp_path / "cut", *sets, nproc=2))
    a, b = load(tmp_path / "full/ckpt/latest.pt"), load(tmp_path / "cut/ckpt/latest.pt")
    assert b["global_iter"] == 8 and "resumed from" in (tmp_path / "cut/train.log").read_text()
    for part in ("model", "teacher", "optimizer", "method"): _walk(a[part], b[part], part, _exact)

@pytest.mark.parametrize("method", list(CASES))
def test_checkpoint_round_trip_predict_and_explore(tmp_path, method):
    from u2pl.trainer import Trainer, toy_config
    from u2pl.checkpoint import read_checkpoint, load_states
    from u2pl.config import to_dict
    from u2pl.explore import explore_split
    over = {"semi.method": CASES[method][0], "train.max_iters": 10, **dict(s.split("=") for s in CASES[method][1])}
    over = {k: (int(v) if isinstance(v, str) and v.isdigit() else v) for k, v in over.items()}
    torch.set_num_threads(1)
    tr = Trainer(toy_config(tmp_path / "run", **over), quiet=True); tr.fit()
    ck = read_checkpoint(tmp_path / "run/ckpt/latest.pt", 1, tr.iters_per_epoch)
    fresh = Trainer(toy_config(tmp_path / "fresh", **over), quiet=True)
    load_states(ck, "latest.pt", to_dict(fresh.cfg), fresh.model, fresh.teacher, fresh.optimizer, fresh.scaler, fresh.method)
    _walk(tr.method.state_dict(), fresh.method.state_dict(), "method", _exact)
    # u2pl-predict: no method code needed, the checkpoint says which network predicts
    (tmp_path / "in").mkdir()
    from PIL import Image
    import numpy as np
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (33, 33, 3), dtype=np.uint8)).save(tmp_path / "in/a.png")
    r = subprocess.run([sys.executable, "-m", "u2pl.predict", "--checkpoint", str(tmp_path / "run/ckpt/latest.pt"),
                        "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--device", "cpu"],
                       capture_output=True, text=True, env=env(), cwd=ROOT, timeout=300)
    assert r.returncode == 0 and (tmp_path / "out/a.png").is_file(), r.stderr
    assert f"using its {ck['prediction']}" in r.stdout, r.stdout
    out = explore_split(tmp_path / "run", "val", n=2, progress=False)
    assert len(out) == 2 and out.pseudo(0).shape == (33, 33) and ("[teacher]" in out.source) == (ck["prediction"] == "teacher")
