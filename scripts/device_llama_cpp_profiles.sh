#!/usr/bin/env bash
# Profile llama.cpp (CUDA) architecture clones on a lent GPU machine, with the settings of profiles/reference/h100/,
# so that the H100 → other-GPU projection (`planner.core.projection.project_profile`, notebook 04) can be checked
# against a GPU the llama.cpp efficiency was never fitted on. Status 2026-12-04: not achieved — the build works, the
# model load crashes (below); no H200 profile exists yet.
#
# The machine has no package registry: what it lacks travels in .whl/ (ignored; `carry: [".whl"]`):
#   - wheels (cp312) of pydantic, pydantic-core, annotated-types, typing-inspection, gguf, diskcache, typer, click,
#     typing-extensions (`pip download --no-deps --only-binary=:all: --python-version 3.12 …`);
#   - lcp-src.tar.gz: the llama-cpp-python 0.3.36 sdist (the version pyproject.toml pins) without the parts a CUDA
#     build of the library does not compile (vendored models, docs, tests, examples, web UI, other GPU backends), to
#     fit the 64 MiB a call carries.
# Run from the repository root:  OUT=/some/dir DEADLINE=560 SMOKE=1 bash scripts/device_llama_cpp_profiles.sh
# (the build takes about 220 s on 16 cores; SMOKE=1 loads the small clone first and prints a faulthandler trace if it
# crashes). Until a run succeeds on that machine, start with SMOKE=1.
# Each clone is profiled only while enough of DEADLINE (seconds) is left; every step is logged to $OUT/run.log.
set -u
OUT=${OUT:?set OUT to the folder the profiles go to}
DEADLINE=${DEADLINE:-560}
T0=$(date +%s)
mkdir -p "$OUT/prof"
log() { echo "[$(( $(date +%s) - T0 )) s] $*" | tee -a "$OUT/run.log"; }
left() { echo $(( DEADLINE - ($(date +%s) - T0) )); }

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit --format=csv 2>&1 | tee -a "$OUT/run.log"
nproc | sed 's/^/cores: /' | tee -a "$OUT/run.log"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { log "wheel install failed"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD LLM_PLANNER_CACHE=/tmp/llm-planner-cache PYTHONFAULTHANDLER=1
mkdir -p /tmp/lcp && tar xzf .whl/lcp-src.tar.gz -C /tmp/lcp || { log "sdist unpack failed"; exit 1; }

log "building llama-cpp-python 0.3.36 with CUDA for sm_90 ($(nvcc --version | tail -1))"
# No AMX, as the Makefile builds it: these Firecracker VMs advertise AMX in CPUID but fault on its tile instructions
# (a build with AMX_INT8 = 1 died with SIGSEGV as the clone loaded — but so did one without: see below).
# No NCCL: one GPU needs no collectives, and the 2026-12-04 builds found the image's NCCL (-DGGML_USE_NCCL) and
# died with SIGSEGV inside llama_model_load_from_file (every layer offloaded; with and without AMX, with and without
# the CPU threadpool: not those). NCCL is the next suspect, not a proven cause. EXTRA_CMAKE_ARGS adds flags.
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF -DCMAKE_C_FLAGS='$NO_AMX' -DCMAKE_CXX_FLAGS='$NO_AMX' -DGGML_CUDA_NCCL=OFF ${EXTRA_CMAKE_ARGS:-}" \
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
  timeout $(( $(left) - ${BUILD_RESERVE:-120} )) python3 -m pip install --no-index --no-deps --no-build-isolation --no-cache-dir \
  --target /tmp/site /tmp/lcp/llama_cpp_python-0.3.36 -v > /tmp/build.log 2>&1
rc=$?
tail -c 200000 /tmp/build.log | gzip > "$OUT/build.log.gz"
[ $rc -eq 0 ] || { log "build failed (exit $rc)"; tail -30 /tmp/build.log; exit 1; }
python3 -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())" 2>&1 | tee -a "$OUT/run.log"
log "built"

profile() {  # NEED_S ARGS…: clone and profile one architecture if NEED_S seconds are left
  local need=$1; shift
  if [ "$(left)" -lt "$need" ]; then log "skipped, $(left) s left: $*"; return; fi
  log "clone --profile $*"
  timeout "$(left)" python3 -m planner clone "$@" --full --profile --n-gpu-layers -1 --profiles-dir "$OUT/prof" \
    >> "$OUT/run.log" 2>&1
  log "exit $?"
  rm -rf "$LLM_PLANNER_CACHE"  # the next clone's F16 intermediate needs the disk
}
if [ -n "${SMOKE:-}" ]; then  # one load and 32 decode steps of the small clone, before any long profile
  timeout 60 python3 -m planner clone SmolLM2-135M-Instruct --layers 30 --quant Q4_1 > /dev/null 2>&1
  timeout "$(left)" python3 - <<'PY' 2>&1 | grep -v "^llama_model_loader\|^print_info\|^load" | tail -25 | tee -a "$OUT/run.log"
from planner.measure.engines.llama_cpp import EngineSettings, LlamaCppEngine
from planner.measure.gguf.cache import kind_dir
path = next(kind_dir("clones").glob("SmolLM2-135M-Instruct-L30.clone.Q4_1.gguf"))
for poll in (None, 50):
    with LlamaCppEngine(path, EngineSettings(n_gpu_layers=-1, threadpool_poll=poll)) as e:
        e.prefill(e.random_tokens(128))
        steps = e.decode_steps(32, start_pos=128)
        print(f"threadpool_poll={poll}: 32 decode steps, median {1e3 * sorted(steps)[16]:.2f} ms", flush=True)
PY
fi
profile 120 SmolLM2-135M-Instruct --layers 30 --quant Q4_1 --concurrency 1,2,4,8,16,32,64
profile 150 Mistral-7B-v0.1 --quant Q4_K_M --concurrency 1,2,4,8,16,32,64
profile 150 Mixtral-8x7B-v0.1 --layers 8 --quant Q4_K_M --concurrency 1,4,16,64
ls -la "$OUT/prof" | tee -a "$OUT/run.log"
log "done"
