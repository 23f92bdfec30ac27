#!/usr/bin/env bash
# Multi-node U2PL training under SLURM: srun starts ONE torchrun per node; torchrun starts one worker per GPU and
# the nodes meet at a c10d rendezvous on the first node of the allocation.
#
#   sbatch --nodes=2 scripts/slurm_train.sh configs/cityscapes_744.yaml --set train.epochs=200
#
# The learning rate follows the global batch (u2pl.config: lr x global_batch / ref_global_batch), so 2 nodes x 8 GPUs
# x 2 images = 32 doubles the reference lr automatically; pin it with --set train.lr_scaling=none if you prefer.
# run_dir must be on a file system shared by all nodes (global rank 0 writes; every rank reads ckpt/latest.pt when
# resuming). Re-submitting the same command resumes from ckpt/latest.pt (runtime.resume: auto).
#
#SBATCH --job-name=u2pl
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=32
#SBATCH --time=24:00:00
#SBATCH --output=slurm-%x-%j.out
set -euo pipefail

CONFIG=${1:?usage: sbatch scripts/slurm_train.sh CONFIG.yaml [--set key=value ...]}
shift
GPUS_PER_NODE=${GPUS_PER_NODE:-${SLURM_GPUS_ON_NODE:-8}}
HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
RDZV_PORT=${RDZV_PORT:-29500}
PYTHON=${PYTHON:-python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
export PYTHONUNBUFFERED=1

echo "u2pl: ${SLURM_NNODES} nodes x ${GPUS_PER_NODE} GPUs, rendezvous ${HEAD_NODE}:${RDZV_PORT}, config ${CONFIG}"

# --node_rank is left to the c10d rendezvous; each srun task runs on its own node.
srun --ntasks="$SLURM_NNODES" --ntasks-per-node=1 \
  "$PYTHON" -m torch.distributed.run \
    --nnodes="$SLURM_NNODES" \
    --nproc_per_node="$GPUS_PER_NODE" \
    --rdzv_id="$SLURM_JOB_ID" \
    --rdzv_backend=c10d \
    --rdzv_endpoint="${HEAD_NODE}:${RDZV_PORT}" \
    -m u2pl.train --config "$CONFIG" "$@"
