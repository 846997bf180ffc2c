#!/usr/bin/env bash
# Render reports/example/bundle.json in every format (the grading date is the audit's own date, so the
# output depends on nothing but the bundle and the toolkit). Usage: render-example-reports.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=reports/example/bundle.json
dest=${1:-reports/example}
SOURCE_DATE_EPOCH=$(.venv/bin/python -c "import json,sys; print(int(json.load(open(sys.argv[1]))['ended']))" "$bundle")
export SOURCE_DATE_EPOCH
.venv/bin/byok-audit report "$bundle" \
    -o "json:$dest/result.json" -o "html:$dest/scorecard.html" -o "junit:$dest/junit.xml" \
    -o "sarif:$dest/results.sarif" -o "markdown:$dest/summary.md" -o "badge:$dest/badge.svg" 2>/dev/null
