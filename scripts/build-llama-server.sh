#!/usr/bin/env bash
# Build llama.cpp's `llama-server` offline, CPU only, from the llama.cpp source that the
# node-llama-cpp npm package ships as a git bundle (llama/gitRelease.bundle). No GitHub and
# no Hugging Face access is needed: only the npm registry (once, for node-llama-cpp).
#
# Idempotent: the binary is cached under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/syndicate/llama-server/<llama.cpp commit>/llama-server
# and a second run only prints that path.
#
# stdout: exactly one line, the absolute path of the binary. Progress goes to stderr.
#
# Environment:
#   SYNDICATE_LLAMA_WORK_DIR  scratch directory (npm install + source checkout + build tree);
#                             default ${XDG_CACHE_HOME:-$HOME/.cache}/syndicate/llama-build
#   SYNDICATE_LLAMA_BUNDLE    use this gitRelease.bundle instead of installing node-llama-cpp
#   NODE_LLAMA_CPP_VERSION    npm version spec of node-llama-cpp (default: 3.22.1, the one
#                             the fixtures in test/fixtures/llama.cpp-real/ were captured with)
#   BUILD_JOBS                parallel compile jobs (default 2; the build runs under nice -n 19)
#
# Time measured on a shared 2-core x86_64 VM (nice -n 19, -j2, GGML_NATIVE=OFF): see
# test/fixtures/llama.cpp-real/README.md ("Build").
set -euo pipefail

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/syndicate"
work_dir="${SYNDICATE_LLAMA_WORK_DIR:-$cache_root/llama-build}"
node_llama_cpp_version="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
build_jobs="${BUILD_JOBS:-2}"

log() { printf '[build-llama-server] %s\n' "$*" >&2; }

for tool in git cmake c++ npm; do
  command -v "$tool" >/dev/null 2>&1 || { log "missing required tool: $tool"; exit 1; }
done

mkdir -p "$work_dir"

bundle="${SYNDICATE_LLAMA_BUNDLE:-}"
if [[ -z "$bundle" ]]; then
  npm_dir="$work_dir/npm"
  bundle="$npm_dir/node_modules/node-llama-cpp/llama/gitRelease.bundle"
  if [[ ! -f "$bundle" ]]; then
    log "installing node-llama-cpp@$node_llama_cpp_version into $npm_dir (scripts disabled: no prebuilt download, no build)"
    mkdir -p "$npm_dir"
    [[ -f "$npm_dir/package.json" ]] || printf '{"name":"syndicate-llama-build","private":true}\n' >"$npm_dir/package.json"
    (cd "$npm_dir" && npm install --no-audit --no-fund --ignore-scripts "node-llama-cpp@$node_llama_cpp_version" >&2)
  fi
fi
[[ -f "$bundle" ]] || { log "git bundle not found: $bundle"; exit 1; }

# The commit is read from the bundle itself so a cached binary can be found without cloning.
commit="$(git bundle list-heads "$bundle" | awk 'NR==1 {print $1}')"
[[ "$commit" =~ ^[0-9a-f]{40}$ ]] || { log "could not read the commit from $bundle"; exit 1; }

binary_dir="$cache_root/llama-server/$commit"
binary="$binary_dir/llama-server"
if [[ -x "$binary" ]]; then
  log "cached: llama.cpp $commit"
  printf '%s\n' "$binary"
  exit 0
fi

source_dir="$work_dir/llama.cpp-$commit"
if [[ ! -d "$source_dir/.git" ]]; then
  log "cloning llama.cpp $commit from $bundle"
  rm -rf "$source_dir"
  git clone --quiet "$bundle" "$source_dir"
  git -C "$source_dir" -c advice.detachedHead=false checkout --quiet "$commit"
fi

build_dir="$source_dir/build-syndicate"
started="$(date +%s)"
log "configuring (Release, CPU only, static, no UI download, no curl/openssl)"
# LLAMA_USE_PREBUILT_UI=OFF: the web UI would otherwise be downloaded from Hugging Face.
# BUILD_SHARED_LIBS=OFF: one self-contained binary that can be cached and moved.
nice -n 19 cmake -S "$source_dir" -B "$build_dir" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=OFF \
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
  -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF \
  >&2

log "building target llama-server with -j$build_jobs under nice -n 19 (4-30 minutes on 2 cores)"
nice -n 19 cmake --build "$build_dir" --config Release --target llama-server -j "$build_jobs" >&2

built="$build_dir/bin/llama-server"
[[ -x "$built" ]] || { log "build finished but $built is missing"; exit 1; }

mkdir -p "$binary_dir"
cp "$built" "$binary.partial"
mv "$binary.partial" "$binary"
log "built llama.cpp $commit in $(( $(date +%s) - started )) s"
printf '%s\n' "$binary"
