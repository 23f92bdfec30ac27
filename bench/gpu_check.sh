#!/usr/bin/env bash
# Everything that needs a CUDA GPU, in one call of about 5 minutes on an H100/H200:
#   1. the notebooks' `#| gpu` test cells (percentiles, masks and rank masks, losses, OHEM, contrastive loss and queues,
#      augmentation, bf16 sliding-window inference: CUDA against CPU), through bench/nb_cells.py (the image has no nbdev);
#   2. bench/losses.py --device cuda: the loss machinery against the reference transcription with its host habits;
#   3. bench/gpu_train.py: U2PL training steps in fp32 / bf16 / bf16+channels-last / fp16+channels-last and under
#      torchrun with nccl (SyncBN too on a machine with 2+ GPUs; GPU_CHECK_COMPILE=1 adds torch.compile), with s/step and peak memory.
# Run it from the checkout on a CUDA machine with torch installed: `bash bench/gpu_check.sh`. fastcore (pure Python)
# is what the notebooks' tests import; a copy under .venv/lib/python3.11/site-packages/fastcore is put on PYTHONPATH
# if the machine lacks it. Logs land under $OUT (default: runs/gpu_check); the summary tables are printed last.
# Exit status: the number of failed sections.
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${OUT:-runs/gpu_check}; mkdir -p "$OUT"
FC=.venv/lib/python3.11/site-packages
if ! $PY -c "import fastcore.test" 2>/dev/null && [ -d "$FC/fastcore" ]; then
    mkdir -p /tmp/fcsite && cp -r "$FC/fastcore" /tmp/fcsite/ && export PYTHONPATH=/tmp/fcsite${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} MPLBACKEND=Agg
fail=0
{ nvidia-smi -L; $PY -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())"; } 2>&1 | tee "$OUT/env.txt"

echo "== 1. notebook gpu cells"
$PY bench/nb_cells.py nbs/07_entropy.ipynb nbs/09_losses.ipynb nbs/10_contrastive.ipynb nbs/12_augment.ipynb nbs/16_evaluate.ipynb --flags gpu > "$OUT/nb_cells.txt" 2>&1 || fail=$((fail + 1))
grep -E "^(ok|FAIL)" "$OUT/nb_cells.txt"

echo "== 2. loss machinery"
timeout 180 $PY bench/losses.py --device cuda --steps 30 > "$OUT/losses_cuda.txt" 2>&1 || fail=$((fail + 1))

echo "== 3. training steps"
timeout 420 $PY bench/gpu_train.py --out "$OUT/gpu_train" ${GPU_CHECK_COMPILE:+--compile} > "$OUT/gpu_train.txt" 2>&1 || fail=$((fail + 1))

echo; echo "== summary (failed sections: $fail)"
cat "$OUT/env.txt"; grep -E "^(ok|FAIL)" "$OUT/nb_cells.txt"; echo
tail -12 "$OUT/losses_cuda.txt"; echo
tail -12 "$OUT/gpu_train.txt"
exit $fail
