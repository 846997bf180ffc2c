#!/usr/bin/env bash
# Regenerate reports/example/: a real audit of the bundled reference server, rendered in every format.
# tests/test_reports.py re-renders reports/example/bundle.json and fails when these files are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
out=reports/example
rm -rf "$out.new"
.venv/bin/byok-audit run --target reference_impl/profile.toml --out "$out.new" -q -o json:/dev/null >/dev/null
rm -rf "$out" && mv "$out.new" "$out"
rm -f "$out/result.json"
bash scripts/render-example-reports.sh
