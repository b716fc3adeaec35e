#!/usr/bin/env bash
# The CUDA paths, once, on a machine with one NVIDIA GPU: what CPU CI cannot run.
#
#   bash benchmarks/gpu.sh [OUTDIR]        # needs ganspec installed (pip install -e .) and CUDA torch
#
# Renders presets with mixed precision switched on, trains each for a few hundred steps on
# cuda (bf16, fp16 with its GradScaler, torch.compile, channels_last), runs a rendered
# project's own tests and `ganspec smoke` with CUDA visible, tries torchrun with NCCL, and runs
# the two GPU benchmarks (train_speed.py, superres.py). Every step has its own time limit and
# its own log (OUTDIR/logs.tar.gz); a failed step is reported and the rest still run. Figures: the
# summary at the end (OUTDIR/summary.txt). ONLY="step names" runs those steps alone.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RESULTS="$(mkdir -p "${1:-gpu-out}" && cd "${1:-gpu-out}" && pwd)"
WORK="$(mktemp -d)"
OUT="$WORK/logs" # every step's log; packed into RESULTS/logs.tar.gz after each step
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
SUMMARY="$RESULTS/summary.txt"
: >"$SUMMARY"

step() { # step NAME LIMIT_S COMMAND...: run COMMAND in its own log, note status and seconds
    local name="$1" limit="$2"
    shift 2
    if [ -n "${ONLY:-}" ] && ! [[ " $ONLY " == *" $name "* ]]; then return; fi
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    printf '%-28s rc=%-3s %4ss\n' "$name" "$rc" "$((SECONDS - start))" | tee -a "$SUMMARY"
    tar -czf "$RESULTS/logs.tar.gz" -C "$OUT" .
}

variant() { # variant PRESET NAME KEY=VALUE...: render PRESET with training.KEY set, into WORK/NAME
    local preset="$1" name="$2"
    shift 2
    "$PY" - "$ROOT/specs/$preset.yaml" "$WORK/$name.yaml" "$@" <<'EOF'
import sys, yaml
source, target, *pairs = sys.argv[1:]
spec = yaml.safe_load(open(source))
for pair in pairs:
    key, value = pair.split("=", 1)
    spec["training"][key] = yaml.safe_load(value)
yaml.safe_dump(spec, open(target, "w"), sort_keys=False)
EOF
    "$PY" -m ganspec render "$WORK/$name.yaml" --out "$WORK/$name" >"$OUT/render-$name.log" 2>&1 ||
        echo "render $name failed" | tee -a "$SUMMARY"
}

{
    nvidia-smi -L
    "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
} | tee -a "$SUMMARY"

variant dcgan-64 dcgan64_bf16 amp=bf16
variant dcgan-64 dcgan64_fp16 amp=fp16
variant wgan-gp-64 wgan_fp32 "amp='off'"
variant sngan-hinge-32 sngan_bf16 amp=bf16
variant cgan-digits-32 cgan_bf16 amp=bf16

for name in dcgan64_bf16 dcgan64_fp16 wgan_fp32 sngan_bf16 cgan_bf16; do
    step "train-$name" 240 bash -c "cd '$WORK/$name' && '$PY' train.py --device cuda --max-steps 200 --out runs/gpu"
    tail -n 3 "$OUT/train-$name.log" | sed "s/^/    /" >>"$SUMMARY"
done
step "train-dcgan64_bf16-compile" 200 bash -c "cd '$WORK/dcgan64_bf16' && '$PY' train.py --device cuda --compile --max-steps 200 --out runs/gpu-compile"
tail -n 3 "$OUT/train-dcgan64_bf16-compile.log" | sed "s/^/    /" >>"$SUMMARY"
step "train_speed-bf16" 240 "$PY" "$ROOT/benchmarks/train_speed.py" --device cuda --amp bf16 --blocks 5 --iters 20
tail -n 4 "$OUT/train_speed-bf16.log" | sed "s/^/    /" >>"$SUMMARY"
step "train_speed-fp32" 240 "$PY" "$ROOT/benchmarks/train_speed.py" --device cuda --amp off --blocks 5 --iters 20
tail -n 4 "$OUT/train_speed-fp32.log" | sed "s/^/    /" >>"$SUMMARY"
step "superres" 300 "$PY" "$ROOT/benchmarks/superres.py" --device cuda --json "$RESULTS/superres.json"
step "resume-dcgan64_fp16" 120 bash -c "cd '$WORK/dcgan64_fp16' && '$PY' train.py --device cuda --out runs/gpu --resume --max-steps 300"
step "health-dcgan64_bf16" 120 bash -c "cd '$WORK/dcgan64_bf16' && '$PY' health.py --device cuda --json"
step "smoke-wgan" 180 "$PY" -m ganspec smoke "$WORK/wgan_fp32"
# NCCL: two ranks on one GPU is refused by NCCL itself; recorded to show the message users get.
step "torchrun-2x1gpu-nccl" 90 bash -c "cd '$WORK/dcgan64_bf16' && torchrun --standalone --nproc_per_node 2 train.py --device cuda --max-steps 20 --out runs/ddp"
tail -n 3 "$OUT/torchrun-2x1gpu-nccl.log" | sed "s/^/    /" >>"$SUMMARY"

step "tests-dcgan64_bf16" 150 bash -c "cd '$WORK/dcgan64_bf16' && '$PY' -m pytest -q -p no:cacheprovider -x"
tail -n 2 "$OUT/tests-dcgan64_bf16.log" | sed "s/^/    /" >>"$SUMMARY"
cat "$SUMMARY"
