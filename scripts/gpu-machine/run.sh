#!/bin/bash
# On a GPU machine (no network, no node; NVIDIA driver, maybe Python with torch), from the repository
# root with .gpu/ (the GPU kit plus `node scripts/gpu-machine/build.mjs`'s output) and .gl/ carried:
#
#   bash scripts/gpu-machine/run.sh
#
# 1. unpacks the Vulkan loader (.gl/*.deb), node and Dawn (the kit's node.xz, dawn.node.xz) into $WORK;
# 2. runs the Node volunteer's self-check on Dawn (every GPU kernel, checked by an in-process host);
# 3. runs `npm run bench -- --dawn`'s bundle at 1024/2048/4096 (with --require-gpu: a software
#    adapter is refused), TF.js beside it, the unit stream, cuBLAS when torch is here; if no GPU
#    adapter was found, once more with the NVIDIA ICD named explicitly;
# 4. runs the kit's torch_ref.py when present.
# Everything lands in $OUT: run.log, selfcheck.json, bench-dawn.json/.md, bench.log, torch.json.
#
# Environment (all optional): OUT (default /tmp/gpu-out), WORK (default /tmp/gpu), GL_ROOT where the
# .gl debs unpack (default /; elsewhere for a test without root), BENCH_ARGS (replaces the sizes
# flags), BENCH_REQUIRE_GPU=0 (accept a software adapter such as lavapipe: for testing this script),
# BENCH_TIMEOUT (seconds per bench try, default 300), NV_ICD (the NVIDIA ICD file).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
G=$ROOT/.gpu
OUT=${OUT:-/tmp/gpu-out}
WORK=${WORK:-/tmp/gpu}
GL_ROOT=${GL_ROOT:-/}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
BENCH_ARGS=${BENCH_ARGS:---sizes 1024,2048,4096 --sha-count 1048576 --pow-nonces 268435456 --stream-units 16 --stream-size 1024}
BENCH_REQUIRE_GPU=${BENCH_REQUIRE_GPU:-1}
NV_ICD=${NV_ICD:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
mkdir -p "$OUT" "$WORK"
T0=$(date +%s)
say() { echo "== [$(($(date +%s) - T0)) s] $*"; }

unxz_to() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"), 1 << 20)' "$1" "$2"; fi
}

undeb() {
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$1" "$2"
  else
    python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
deb, root = sys.argv[1], sys.argv[2]
blob = open(deb, "rb").read()
assert blob[:8] == b"!<arch>\n", "not an ar archive"
at = 8
while at < len(blob):
    name = blob[at:at + 16].decode().strip().rstrip("/")
    size = int(blob[at + 48:at + 58].decode().strip())
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(blob[at + 60:at + 60 + size])).extractall(root)
    at += 60 + size + (size & 1)
PY
  fi
}

bench() { # label
  say "bench ($1): ${BENCH_ARGS} (require GPU: $BENCH_REQUIRE_GPU), VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}"
  echo "=== bench try: $1 ===" >>"$OUT/bench.log"
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
  (cd "$WORK" && timeout -k 10 "$BENCH_TIMEOUT" ./node tabgrid-gpu.mjs bench --out "$OUT/bench-dawn.json" $([ "$BENCH_REQUIRE_GPU" = 1 ] && echo --require-gpu) $BENCH_ARGS) 2>&1 | tee -a "$OUT/bench.log"
  return "${PIPESTATUS[0]}"
}

main() {
  say "host $(uname -srm), $(nproc) CPUs, repo $ROOT, OUT $OUT"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,pstate,clocks.sm,clocks.max.sm --format=csv
  for f in "$ROOT/.gpu/tabgrid-gpu.mjs" "$G/node.xz" "$G/dawn.node.xz" "$G/webgpu-index.js"; do
    [ -f "$f" ] || { say "missing $f: see docs/GPU-MACHINE.md"; return 2; }
  done

  say "unpacking .gl/*.deb into $GL_ROOT"
  for f in "$ROOT"/.gl/*.deb; do [ -f "$f" ] && { undeb "$f" "$GL_ROOT" || say "unpacking $f failed"; }; done
  [ "$GL_ROOT" = / ] && ldconfig
  if [ -d /usr/local/nvidia/lib64 ] && ! ldconfig -p | grep -q libGLX_nvidia.so.0; then
    export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64
  fi

  say "unpacking node and Dawn into $WORK"
  mkdir -p "$WORK/webgpu/dist/linux-x64"
  unxz_to "$G/node.xz" "$WORK/node" && chmod +x "$WORK/node"
  unxz_to "$G/dawn.node.xz" "$WORK/webgpu/dist/linux-x64/dawn.node"
  cp "$G/webgpu-index.js" "$WORK/webgpu/index.js"
  echo '{"name":"webgpu","version":"0.6.2","type":"module","main":"index.js"}' >"$WORK/webgpu/package.json"
  cp "$G/tabgrid-gpu.mjs" "$G/dawn-torch.py" "$WORK/"
  (cd "$WORK" && sha256sum -c "$G/TABGRID-SHA256SUMS") || say "CHECKSUM MISMATCH (see above)"
  # Which Vulkan devices the loader sees; with none, name the NVIDIA ICD before anything runs.
  if [ -f "$G/vkprobe.py" ] && ! timeout 20 python3 "$G/vkprobe.py" && [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$NV_ICD" ]; then
    export VK_ICD_FILENAMES=$NV_ICD VK_DRIVER_FILES=$NV_ICD
    say "no Vulkan device found: using the NVIDIA ICD $NV_ICD"
    timeout 20 python3 "$G/vkprobe.py"
  fi
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"

  say "volunteer self-check on Dawn"
  (cd "$WORK" && timeout -k 5 150 ./node tabgrid-gpu.mjs selfcheck --out "$OUT/selfcheck.json") 2>&1 | tail -n 30
  say "self-check exit status ${PIPESTATUS[0]} (0 passed)"

  bench first
  local rc=$?
  if [ "$rc" -eq 3 ] && [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$NV_ICD" ]; then
    [ -f "$OUT/bench-dawn.json" ] && cp "$OUT/bench-dawn.json" "$OUT/bench-dawn-try1.json"
    export VK_ICD_FILENAMES=$NV_ICD VK_DRIVER_FILES=$NV_ICD
    bench "second, NVIDIA ICD"
    rc=$?
  fi
  say "bench exit status $rc (0 done, 1 a check failed, 3 no GPU adapter, 4 Dawn did not load, 124/137 timed out)"

  if [ -f "$G/torch_ref.py" ]; then
    say "torch_ref.py (the kit's cuBLAS reference)"
    PYTHONUNBUFFERED=1 timeout -k 5 90 python3 "$G/torch_ref.py" "$OUT/torch.json"
    say "torch_ref exit status $?"
  fi
  ls -la "$OUT"
  say "done"
  return "$rc"
}

main 2>&1 | tee "$OUT/run.log"
exit "${PIPESTATUS[0]}"
