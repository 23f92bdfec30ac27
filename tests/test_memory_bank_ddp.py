"""ClassQueues under torch.distributed: 2 gloo processes, each enqueueing different keys.

Checks that
- both ranks end with identical queues, equal to a single-process `cat` model fed with the
  concatenation of every rank's keys in rank order (the reference's all_gather_object order);
- every `enqueue` issues exactly ONE data collective (`dist.all_gather` of the padded
  [N_max, D+1] keys+labels tensor) plus, when `pad_to` is not given, one size exchange
  (`dist.all_gather` of a [1] count tensor); with `pad_to` it issues exactly one collective.
"""
import os, socket, tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from u2pl.memory_bank import ClassQueues
from u2pl.reference import dequeue_and_enqueue

C, D, CAPS, STEPS = 4, 3, [50, 2, 5, 1], 6
COLLECTIVES = ["all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "broadcast",
               "broadcast_object_list", "gather", "scatter", "reduce", "barrier", "all_to_all", "reduce_scatter"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _batch(rank, step):
    "Deterministic, rank-specific keys: different N per rank (rank 1 may send 0 keys)."
    g = torch.Generator().manual_seed(1000 * rank + step)
    n = [3, 0, 9, 1, 4, 7][step] if rank == 0 else [5, 2, 0, 8, 1, 11][step]
    return torch.randn(n, D, generator=g) + rank * 100, torch.randint(0, C, (n,), generator=g)


def _worker(rank, world, port, outdir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    counts = {}

    def counting(name, fn):
        def wrapped(*a, **k):
            counts[name] = counts.get(name, 0) + 1
            return fn(*a, **k)
        return wrapped

    for name in COLLECTIVES:  # the memory bank calls dist.<name> through the module attribute
        if hasattr(dist, name): setattr(dist, name, counting(name, getattr(dist, name)))
    try:
        qs = ClassQueues(C, D, capacities=CAPS)
        per_call = []
        for step in range(STEPS):
            before = dict(counts)
            qs.enqueue(*_batch(rank, step), pad_to=16 if step % 2 else None)
            per_call.append({k: counts.get(k, 0) - before.get(k, 0) for k in counts if counts.get(k, 0) != before.get(k, 0)})
        qb = ClassQueues(300, D, capacity=2, bg_capacity=None, dtype=torch.bfloat16)   # class ids beyond bfloat16's exact 256
        qb.enqueue(torch.full((1, D), float(rank + 1)), torch.tensor([299 - rank]))
        torch.save({"queues": [qs.get(c) for c in range(C)], "per_call": per_call, "sizes": qs.sizes,
                    "bf16": {c: qb.get(c) for c in (298, 299)}},
                   os.path.join(outdir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_ranks_identical_queues_and_one_gather():
    world = 2
    with tempfile.TemporaryDirectory() as outdir:
        mp.spawn(_worker, args=(world, _free_port(), outdir), nprocs=world, join=True)
        res = [torch.load(os.path.join(outdir, f"rank{r}.pt"), weights_only=True) for r in range(world)]

    # single-process model: per step, every rank's keys in rank order, through the reference update
    ref = [[torch.zeros((0, D))] for _ in range(C)]
    ptrs = [torch.zeros(1, dtype=torch.long) for _ in range(C)]
    for step in range(STEPS):
        keys, labels = map(torch.cat, zip(*[_batch(r, step) for r in range(world)]))
        for c in range(C): dequeue_and_enqueue(keys[labels == c], ref[c], ptrs[c], CAPS[c])

    for r in range(world):
        for c in range(C):
            assert torch.equal(res[r]["queues"][c], ref[c][0]), (r, c)
        assert res[r]["sizes"].tolist() == [q[0].shape[0] for q in ref]
        for step, calls in enumerate(res[r]["per_call"]):
            # without pad_to: size exchange + data gather, both dist.all_gather; with pad_to: data gather only
            assert calls == {"all_gather": 1 if step % 2 else 2}, (r, step, calls)
    assert any(q[0].shape[0] == cap for q, cap in zip(ref, CAPS))  # overflow was exercised
    for r in range(world):                                          # a bfloat16 bank keeps class ids exact: 299 and 298
        assert res[r]["bf16"][299].tolist() == [[1.0] * D] and res[r]["bf16"][298].tolist() == [[2.0] * D]
