#!/usr/bin/env bash
# `npm test`: install everything, build the VM image if needed, then run every test:
# unit tests, integration tests against the real VM under Node, and browser tests in Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LAYERLAB_NEED_CHROMIUM=1 bash scripts/setup.sh

echo "== lint and type check"
npm run lint
npm run check

echo "== unit tests"
# native suites (the guest agent, the VM build) fail instead of skipping when they cannot run here
LAYERLAB_NATIVE_TESTS=1 npx vitest run --project unit
echo "== VM integration tests"
npx vitest run --project vm
echo "== differential tests (Layerlab's builder against Debian's dockerd)"
npm run test:differential
echo "== browser tests"
npx vite build
npx playwright test
