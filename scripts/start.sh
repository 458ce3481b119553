#!/usr/bin/env bash
# `npm start`: install everything, build the VM image if needed, and serve the app.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "start: http://localhost:5173/"
exec npx vite --host 0.0.0.0 --port 5173
