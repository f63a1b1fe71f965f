#!/usr/bin/env bash
# The full-stack example in one command (no Docker): the gateway in development mode, nginx in
# front of the Django example and a stand-in for Celery Flower, the Django Bearer API and the
# React SPA, all behind one sign-in. Needs Debian's nginx and
# python3-django python3-jwt python3-authlib python3-requests. Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x node_modules/.bin/node ] || npm ci --no-audit --no-fund
exec node_modules/.bin/node examples/full-stack/start.ts
