#!/usr/bin/env bash
# Install smoke test: does `pip install wt5` give a working T5 stack?
#
# Builds the sdist from the committed files only (`git archive HEAD`, as a
# fresh clone has them: untracked and modified files do not count) and, from
# it, the wheel; installs the wheel into a new virtual environment with a
# plain `pip install` (pip's ordinary resolver, no lock, no --no-deps; with
# --no-compile, as Python compiles what it imports on first import); then,
# from a temporary directory outside the checkout, imports wt5, writes the
# demo data, trains 10 steps and evaluates with the installed
# `t5_mesh_transformer` console script, re-scores the evaluation with
# `wt5 score` and runs `wt5 doctor`; finally exports a split and, in a second
# venv with the wheel and its `[torch]` extra but no TensorFlow, trains a few
# steps and evaluates with `wt5 train`/`wt5 evaluate`.
#
# Usage: tests/install_smoke.sh [WORK_DIR]
# Environment: PYTHON (default python3.11); KEEP=1 keeps WORK_DIR;
# TORCH_PIP_ARGS: pip options that find torch 2.13.0's CPU build (below).
# Each step's output goes to WORK_DIR/logs/<step>.log; a failing step is
# named and the end of its log printed.
set -uo pipefail
# The venvs are installed without compiling (--no-compile); Python compiles
# what it imports once and keeps it, unless this is set.
unset PYTHONDONTWRITEBYTECODE

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
WORK="${1:-$(mktemp -d "${TMPDIR:-/tmp}/wt5-install-smoke.XXXXXX")}"
mkdir -p "$WORK/logs" "$WORK/dist" "$WORK/run"
LOGS="$WORK/logs"
VENV="$WORK/venv"
STARTED=$SECONDS

cleanup() {
  if [[ "${KEEP:-0}" != 1 && $? == 0 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# step NAME COMMAND...: runs COMMAND with its output in $LOGS/NAME.log.
step() {
  local name="$1"; shift
  local log="$LOGS/$name.log" t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    printf '[smoke] %-10s ok  %4ds\n' "$name" $((SECONDS - t0))
  else
    local rc=$?
    printf '[smoke] %-10s FAILED (exit %d after %ds): %s\n' "$name" "$rc" \
      $((SECONDS - t0)) "$*"
    echo "[smoke] last lines of $log:"
    tail -n 40 "$log" | sed 's/^/    /'
    exit 1
  fi
}

# --- Build: the sdist from the committed files (as a fresh clone has them),
# then the wheel from the sdist (as `python -m build` does).
build() {
  mkdir -p "$WORK/src" &&
  echo "building from commit $(git -C "$ROOT" rev-parse HEAD)" &&
  git -C "$ROOT" archive --format=tar HEAD | tar -C "$WORK/src" -xf - &&
  (cd "$WORK/src" && "$PYTHON" setup.py -q sdist -d "$WORK/dist") &&
  "$PYTHON" -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK"/dist/wt5-*.tar.gz &&
  ls -l "$WORK/dist"
}
step build build
WHEEL="$(ls "$WORK"/dist/wt5-*.whl)"

# The second venv of the [torch] extra (below) is installed meanwhile.
TORCH_VENV="$WORK/venv-torch"
TBIN="$TORCH_VENV/bin"
# The requirements of the extra, from the wheel's metadata.
mapfile -t EXTRA < <("$PYTHON" - "$WHEEL" <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
  name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
  for line in wheel.read(name).decode().splitlines():
    match = re.match(r"Requires-Dist: (.+?) *; *extra *== *.torch.$", line)
    if match:
      print(match.group(1))
PY
)
(
  step torch-venv "$PYTHON" -m venv "$TORCH_VENV"
  step torch-extra bash -c '"$0/pip" install --no-compile --no-deps "$1" &&
    "$0/pip" install --no-compile torch==2.13.0 "setuptools<80" $2 &&
    shift 2 && "$0/pip" install --no-compile "$@" &&
    ! "$0/python" -c "import tensorflow" 2>/dev/null' \
    "$TBIN" "$WHEEL" "${TORCH_PIP_ARGS:-}" "${EXTRA[@]}"
) &
TORCH_INSTALL=$!

# --- Install: a new venv, plain `pip install <wheel>`.
step venv "$PYTHON" -m venv "$VENV"
step install "$VENV/bin/pip" install --no-compile "$WHEEL"
BIN="$VENV/bin"
# torch comes second (README: pip cannot resolve it together with TF 2.12.1).
# TORCH_PIP_ARGS says where its CPU build is: `make test` and `make
# install-smoke` pass the Makefile's choice (nothing where pip's configured
# sources have it, else "--extra-index-url https://download.pytorch.org/whl/cpu
# ..."); run alone, pass it yourself where pip's configuration lacks it.
# shellcheck disable=SC2086
step torch "$BIN/pip" install --no-compile torch==2.13.0 "setuptools<80" \
  ${TORCH_PIP_ARGS:-}

# Exactly the two TFDS distributions wt5 declares.
step pip-list bash -c '"$0/pip" list --format=freeze | tee "$1/pip-list.txt" &&
  grep -iE "^(tfds-nightly|tensorflow-datasets)==" "$1/pip-list.txt" |
    sort -f > "$1/tfds.txt" &&
  printf "tensorflow-datasets==4.9.3\ntfds-nightly==4.9.2.dev202308090034\n" |
    diff - "$1/tfds.txt"' "$BIN" "$WORK"

# --- Use it from a directory outside the checkout.
cd "$WORK/run" || exit 1
export WT5_VOCAB_MODEL="$WORK/data/vocab/wt5_demo.model"
step import "$BIN/python" -c '
import os, sys, wt5, wt5.mixtures, seqio
where = os.path.dirname(wt5.__file__)
assert where.startswith(sys.prefix), "wt5 imported from %s, not the venv" % where
print("wt5 from", where, "-", len(seqio.MixtureRegistry.names()), "mixtures")'
step help "$BIN/wt5" --help
step data "$BIN/wt5" data --data_dir "$WORK/data" --vocab

MODEL="$WORK/model"
CPU_PARAMS=(
  --t5_tfds_data_dir="$WORK/data" --module_import=wt5.mixtures
  --gin_param="utils.run.mesh_shape = 'model:1,batch:1'"
  --gin_param="utils.run.mesh_devices = ['cpu:0']"
  --gin_param="utils.tpu_mesh_shape.tpu_topology = '1x1'"
  --gin_param="utils.run.sequence_length = {'inputs': 64, 'targets': 32}"
  --gin_param="utils.run.batch_size = ('tokens_per_batch', 512)"
  --gin_param="utils.get_variable_dtype.activation_dtype = 'float32'"
)
step train "$BIN/t5_mesh_transformer" --model_dir="$MODEL" "${CPU_PARAMS[@]}" \
  --gin_file=dataset.gin --gin_file=models/bi_v1.gin \
  --gin_file=wt5/gin/sequence_lengths/esnli_v002.gin \
  --gin_param="MIXTURE_NAME = 'esnli_v010'" \
  --gin_param="utils.run.train_steps = 10" \
  --gin_param="utils.run.save_checkpoints_steps = 10" \
  --gin_param="utils.run.learning_rate_schedule = @learning_rate_schedules.constant_learning_rate" \
  --gin_param="constant_learning_rate.learning_rate = 0.01" \
  --gin_param="d_model = 32" --gin_param="d_ff = 64" --gin_param="d_kv = 8" \
  --gin_param="num_heads = 2" --gin_param="num_layers = 1"
step eval "$BIN/t5_mesh_transformer" --model_dir="$MODEL" "${CPU_PARAMS[@]}" \
  --gin_file="$MODEL/operative_config.gin" \
  --gin_file=eval.gin --gin_file=greedy_decode.gin \
  --gin_param="MIXTURE_NAME = 'esnli_eval_v010'" \
  --gin_param="utils.get_variable_dtype.slice_dtype = 'float32'" \
  --gin_param="utils.run.dataset_split = 'validation'" \
  --gin_param="utils.run.eval_checkpoint_step = 'all'"
step eval-log grep -E "eval/esnli_eval_v010/accuracy at step 10" "$LOGS/eval.log"
step score bash -c '"$0/wt5" score "$1/validation_eval" --output_dir "$2/scores" |
  tee "$2/score.txt" && for key in esnli_eval_v010 accuracy bleu expln1_length; do
    grep -q "$key" "$2/score.txt" || { echo "wt5 score printed no $key"; exit 1; }
  done' "$BIN" "$MODEL" "$WORK"
step doctor "$BIN/wt5" doctor --data_dir "$WORK/data"

# --- The [torch] extra where TensorFlow is absent (a GPU machine, README):
# pip cannot resolve torch together with TF 2.12, so the route is a second
# venv (installed since the build) with the wheel without its dependencies
# and the extra's requirements (torch pinned to the CPU build); there
# `wt5 train` runs 4 steps of a tiny model and `wt5 evaluate` decodes, on an
# export written by the first venv.
EXPORT="$WORK/export"
step export bash -c '"$0/wt5" export esnli_v010 --split train --num_examples 64 \
    --output_dir "$1" --sequence_length 64,32 --data_dir "$2" &&
  "$0/wt5" export esnli_v010 --split validation --num_examples 16 \
    --output_dir "$1" --sequence_length 64,32 --data_dir "$2"' \
  "$BIN" "$EXPORT" "$WORK/data"
wait "$TORCH_INSTALL" || { echo "[smoke] the [torch] venv FAILED"; exit 1; }
step torch-train bash -c '"$0/wt5" train --export "$1" --model_dir "$2" \
    --model tiny --steps 4 --batch_size 8 --save_steps 4 | tee "$3" &&
  grep -q "Trained to step 4" "$3"' "$TBIN" "$EXPORT" "$WORK/torch_model" \
  "$WORK/torch-train.txt"
step torch-eval bash -c '"$0/wt5" evaluate --export "$1" --model_dir "$2" &&
  test -s "$2/validation_eval/esnli_v010_4_predictions"' \
  "$TBIN" "$EXPORT" "$WORK/torch_model"

echo "[smoke] the installed wheel works ($((SECONDS - STARTED))s; logs in $LOGS)"
