"""Where one CPU training step's time goes, for each built-in method: the networks, the optimizer and EMA, and the
method's own machinery.

    python bench/step.py [--steps 6] [--rounds 3] [--threads 1] [--accum 1] [--methods suponly u2pl u2pl_ael] [--against REV]

Each method trains on the synthetic preset (the cpu recipe: ResNet-18, 8 + 8 images of 65x65 per step) from a fresh
trainer; its steps are semi-supervised ones (SupOnly: supervised), `--accum N` micro-batches each. Every stage is timed by its own time, without the
stages nested in it:

  teacher net     the teacher network's forward passes (pseudo-labels, the train-mode pass on the mixed batch)
  student fwd     the student network's forward pass
  backward        the backward pass
  optimizer       SGD's step
  EMA             the teacher's exponential moving average
  teacher side    the method's teacher side less its network passes (augmentation, entropy, partition, contrastive inputs)
  before loss     shared state before any loss (the memory bank's enqueue under gradient accumulation)
  loss            the method's loss on the student's output (supervised, unsupervised, contrastive, AEL's consistency)
  monitor         the method's monitoring numbers (pseudo-label statistics)
  after step      the method's once-per-step hook (AEL's confidence bank)
  trainer         everything else in the step: learning rate, device transfers, finite check, bookkeeping

The method-specific share is (teacher side + before loss + loss + monitor + after step) / step. Methods are timed
round-robin inside one process (a slow spell hits every method), and with `--against REV` the same measurement of the
code at git revision REV (a temporary worktree) runs alternately with this checkout's, process by process, so the two
tables come from one run. Medians over rounds of the mean per step.
"""
from __future__ import annotations
import argparse, contextlib, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("teacher net", "student fwd", "backward", "optimizer", "EMA", "teacher side", "before loss", "loss", "monitor",
          "after step", "trainer")
METHOD_STAGES = ("teacher side", "before loss", "loss", "monitor", "after step")


class Clock:
    "Exclusive stage times: entering a stage pauses the one it is nested in."
    def __init__(self): self.total, self.stack = {}, []

    def enter(self, stage):
        now = time.perf_counter()
        if self.stack: self._add(self.stack[-1][0], now - self.stack[-1][1])
        self.stack.append([stage, now])

    def exit(self):
        now = time.perf_counter()
        stage, t0 = self.stack.pop()
        self._add(stage, now - t0)
        if self.stack: self.stack[-1][1] = now

    def _add(self, stage, dt): self.total[stage] = self.total.get(stage, 0.0) + dt

    def wrap(self, fn, stage):
        def timed(*a, **kw):
            self.enter(stage)
            try: return fn(*a, **kw)
            finally: self.exit()
        return timed


def _patch(obj, name, clock, stage):
    if obj is not None and hasattr(obj, name): setattr(obj, name, clock.wrap(getattr(obj, name), stage))


def instrument(tr, clock):
    "Wrap the trainer's stages; the method interface where the code has one, the trainer's own methods before it."
    import torch
    import u2pl.trainer as T
    m = getattr(tr, "method", None)
    if m is not None:
        for name, stage in (("teacher_side", "teacher side"), ("before_loss", "before loss"), ("student_loss", "loss"),
                            ("monitor", "monitor"), ("after_step", "after step")):
            _patch(m, name, clock, stage)
    else:                                                     # the trainer before the method interface
        for name in ("_teacher_pass", "_ael_pass"): _patch(tr, name, clock, "teacher side")
        _patch(tr, "_ael_loss", clock, "loss")
        for name in ("u2pl_loss", "suponly_loss"): _patch(T, name, clock, "loss")
        for name in ("pseudo_label_stats", "class_confidence_stats"): _patch(T, name, clock, "monitor")
        _patch(getattr(tr, "conf_bank", None), "apply", clock, "after step")
    teacher = getattr(tr, "teacher", None)
    if teacher is not None:
        teacher.model.register_forward_pre_hook(lambda *_: clock.enter("teacher net"))
        teacher.model.register_forward_hook(lambda *_: clock.exit())
        _patch(teacher, "update", clock, "EMA")
    tr.fwd = clock.wrap(tr.fwd, "student fwd")
    _patch(tr.optimizer, "step", clock, "optimizer")
    tr.train_step = clock.wrap(tr.train_step, "trainer")
    backward = torch.Tensor.backward
    torch.Tensor.backward = lambda self, *a, **kw: clock.wrap(backward, "backward")(self, *a, **kw)


def child(methods, steps, rounds, threads, accum, out):
    "Build one trainer per method, then time `steps` steps of each, round-robin, `rounds` times; write JSON."
    import torch
    torch.set_num_threads(threads)
    try: from u2pl.presets import resolve_config
    except ImportError: from u2pl.config import resolve_config
    from u2pl.trainer import Trainer
    tmp = tempfile.mkdtemp(prefix="u2pl-bench-step-")
    runs = {}
    for name in methods:
        cfg = resolve_config("synthetic", {"semi.method": name, "runtime.run_dir": f"{tmp}/{name}", "runtime.device": "cpu",
                                           "runtime.num_threads": threads, "data.num_workers": 0,
                                           "train.accum_steps": accum})
        tr = Trainer(cfg, quiet=True)
        semi = getattr(tr, "semi", None)
        if semi is None: semi = tr.method.uses_teacher
        tr.epoch = cfg.semi.sup_only_epoch if semi else 0
        tr.global_iter = tr.epoch * tr.iters_per_epoch
        micro = next(iter(tr.epoch_batches()))
        for _ in range(2): tr.train_step(micro); tr.global_iter += 1           # warm-up, untimed
        clock = Clock(); instrument(tr, clock)
        runs[name] = (tr, micro, clock)
    res = {name: [] for name in methods}
    for _ in range(rounds):
        for name in methods:
            tr, micro, clock = runs[name]
            clock.total = {}
            for _ in range(steps): tr.train_step(micro); tr.global_iter += 1
            res[name].append({k: v / steps for k, v in clock.total.items()})
    Path(out).write_text(json.dumps(res))


def _worktree(rev):
    d = Path(tempfile.mkdtemp(prefix="u2pl-bench-rev-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(d / "tree"), rev], check=True, capture_output=True)
    return d / "tree"


def _table(title, res):
    print(f"\n{title}\n")
    print("| stage (ms/step) | " + " | ".join(res) + " |")
    print("|---|" + "---:|" * len(res))
    med = {m: {s: statistics.median(r.get(s, 0.0) for r in rounds) for s in STAGES} for m, rounds in res.items()}
    for s in STAGES:
        print(f"| {s} | " + " | ".join(f"{1000 * med[m][s]:.1f}" for m in res) + " |")
    tot = {m: sum(med[m].values()) for m in res}
    print("| **step** | " + " | ".join(f"**{1000 * tot[m]:.1f}**" for m in res) + " |")
    print("| method-specific share | " + " | ".join(f"{100 * sum(med[m][s] for s in METHOD_STAGES) / tot[m]:.1f} %" for m in res) + " |")
    return {m: sum(med[m][s] for s in METHOD_STAGES) / tot[m] for m in res}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--accum", type=int, default=1, help="micro-batches per step (gradient accumulation)")
    ap.add_argument("--methods", nargs="+", default=["suponly", "u2pl", "u2pl_ael"])
    ap.add_argument("--against", help="git revision to measure alternately with this checkout (a temporary worktree)")
    ap.add_argument("--child", help=argparse.SUPPRESS)           # internal: write results to this JSON file
    a = ap.parse_args(argv)
    if a.child: return child(a.methods, a.steps, 1, a.threads, a.accum, a.child)
    trees = {"this checkout": ROOT}
    if a.against: trees = {f"at {a.against}": _worktree(a.against), **trees}
    res = {k: {m: [] for m in a.methods} for k in trees}
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for k, tree in trees.items():
                out = Path(tmp) / f"{r}.json"
                subprocess.run([sys.executable, str(ROOT / "bench" / "step.py"), "--child", str(out), "--steps", str(a.steps),
                                "--threads", str(a.threads), "--accum", str(a.accum), "--methods", *a.methods], check=True, cwd=tree,
                               env=dict(env, PYTHONPATH=str(tree)))
                for m, rounds in json.loads(out.read_text()).items(): res[k][m] += rounds
    import platform
    print(f"python bench/step.py --steps {a.steps} --rounds {a.rounds} --threads {a.threads} --accum {a.accum}"
          f"{' --against ' + a.against if a.against else ''}  ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)")
    shares = {k: _table(k, r) for k, r in res.items()}
    if a.against:
        print("\nmethod-specific share, before -> after: " + "; ".join(
            f"{m} {100 * shares[f'at {a.against}'][m]:.1f} % -> {100 * shares['this checkout'][m]:.1f} %" for m in a.methods))
        with contextlib.suppress(Exception):
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[f"at {a.against}"])], capture_output=True)
    return 0


if __name__ == "__main__": sys.exit(main())
