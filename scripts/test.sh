#!/usr/bin/env bash
# `npm test`: install everything, build the VM image if needed, then run every test:
# unit tests, integration tests against the real VM under Node, and browser tests in Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# When the VM needs building, the set-up builds it under strace (keeping its scratch tree); vm/build.test.ts
# checks that trace (no i386 program ran on the host) instead of building a second time, then removes the
# scratch tree. When the VM is up to date nothing is traced, and the test builds into a throwaway folder.
trace_dir=$(mktemp -d /tmp/layerlab-build-trace.XXXXXX)
trap 'rm -rf "$trace_dir"' EXIT
build_trace="$trace_dir/build.strace"
LAYERLAB_NEED_CHROMIUM=1 LAYERLAB_BUILD_TRACE="$build_trace" bash scripts/setup.sh

echo "== lint and type check"
# Side by side: each is mostly one busy thread, and the machine may have two cores.
npm run lint &
lint=$!
npm run check
wait "$lint"

echo "== unit tests"
# native suites (the guest agent, the VM build) fail instead of skipping when they cannot run here
LAYERLAB_NATIVE_TESTS=1 LAYERLAB_BUILD_TRACE="$build_trace" npx vitest run --project unit
echo "== VM integration tests"
npx vitest run --project vm
echo "== differential tests (Layerlab's builder against Debian's dockerd)"
npm run test:differential
echo "== browser tests"
npx vite build
npx playwright test
