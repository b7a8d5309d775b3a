#!/usr/bin/env bash
# Opt-in, bench-only: builds llama.cpp's llama-quantize and llama-perplexity from the llama.cpp source that
# node-llama-cpp bundles (release v0.5.0), for bench/q4-llamacpp.ts (our Q4_0 rule against llama-quantize's, block by
# block). Needs `npm run bench:setup` first; shares the tree with scripts/setup-llama-server.sh. Nothing is
# downloaded; about 10 minutes on 2 cores. Output: bench/.llama-server/build/bin/llama-{quantize,perplexity}
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=bench/llamacpp/node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$bundle" ] || { echo "missing $bundle: run npm run bench:setup first" >&2; exit 1; }
src=bench/.llama-server
[ -d "$src/.git" ] || git clone -q "$bundle" "$src"
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF >/dev/null
cmake --build "$src/build" --target llama-quantize llama-perplexity -j"${JOBS:-$(nproc)}"
echo "built $src/build/bin/llama-quantize and llama-perplexity"
