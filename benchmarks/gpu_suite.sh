#!/usr/bin/env bash
# The PyTorch route on one GPU: equivalence of the attention paths, then the
# throughput matrix of benchmarks/torch_mfu.py (T5-base, bf16, 65,536 tokens
# a step): attention path x compile on/off x micro-batch 32/128, the default
# (attention dropout 0.1, sdpa) and --no-pack. Each run's output goes to
# OUT_DIR/<run>.txt as it finishes; OUT_DIR/summary.txt has one line a run.
#
#   benchmarks/gpu_suite.sh EXPORT_DIR OUT_DIR [STEPS]
#
# EXPORT_DIR: a `wt5 export` of e-SNLI at 512/256 (README, "Training on a
# GPU"). STEPS (default 30) are timed from the end of the first step; each
# run stops after RUN_TIMEOUT seconds (default 150), so one that hangs
# leaves the others' results; MODEL (default base) is the preset size.
# About 8 minutes on one H100/H200.
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 EXPORT_DIR OUT_DIR [STEPS]" >&2
  exit 2
fi
export_dir=$1
out=$2
steps=${3:-30}
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
mkdir -p "$out"
: >"$out/summary.txt"

summarize() {  # name: the run's figures on one line
  local file="$out/$1.txt"
  printf '%-28s %s\n' "$1" "$(grep -E '^(real tokens/s|mfu|first step)|attention' \
    "$file" | grep -v '^attention:' | sed 's/device: .*attention/attention/' |
    tr '\n' ' ')" >>"$out/summary.txt"
  tail -n 1 "$out/summary.txt"
}

check() {  # name, then attention_check.py's arguments
  local name=$1
  shift
  timeout "${RUN_TIMEOUT:-150}" "$python" "$here/attention_check.py" "$@" \
    >"$out/$name.txt" 2>&1
  echo "$name (rc $?): $(grep -E 'vs|peak|worst' "$out/$name.txt" | tr '\n' ' ')" |
    tee -a "$out/summary.txt"
}

run() {  # name, then torch_mfu.py's arguments
  local name=$1
  shift
  timeout "${RUN_TIMEOUT:-150}" "$python" "$here/torch_mfu.py" \
    --export "$export_dir" --steps "$steps" --model "${MODEL:-base}" "$@" \
    >"$out/$name.txt" 2>&1
  echo "rc $?" >>"$out/$name.txt"
  summarize "$name"
}

# Loss and every gradient (float32): wt5_flex and sdpa against one by one,
# tiny and T5-small shapes; peak memory of both paths at T5-base.
check equivalence_tiny --model tiny --lengths 128,64 --rows 4 --memory_model ""
check equivalence_small --model small --lengths 512,256 --rows 2 --memory_rows 32

# The matrix, most telling runs first (attention dropout 0 in all: wt5_flex
# has no dropout); the first one also profiles 3 steps.
matrix() {  # attention, micro-batch, then further torch_mfu.py arguments
  local attn=$1 batch=$2
  shift 2
  local name="${attn}_b${batch}"
  case " $* " in *" --torch_compile "*) name="${name}_compiled" ;; esac
  run "$name" --attn_implementation "$attn" --attention_dropout 0 \
    --batch_size "$batch" "$@"
}
matrix wt5_flex 128 --torch_compile --profile
matrix wt5_flex 128
# The default of wt5 train (attention dropout 0.1, so sdpa), as measured
# before wt5_flex.
run default_sdpa_b128 --batch_size 128
matrix sdpa 128
matrix sdpa 128 --torch_compile
matrix wt5_flex 32
matrix sdpa 32
matrix wt5_flex 32 --torch_compile
matrix sdpa 32 --torch_compile
run nopack_b256 --no-pack --batch_size 256 --attention_dropout 0
