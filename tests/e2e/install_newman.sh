#!/usr/bin/env bash
# Installs newman (Postman's CLI runner) for tests/e2e/test_postman.py into the test cache:
#   ${AWSLAB_TEST_CACHE:-/tmp/awslab-test-cache}/node/node_modules/.bin/newman
# Idempotent: does nothing when newman is already on PATH or in the cache. Never fails the
# caller: without npm (or when the install fails) it says so and exits 0; the test then skips.
set -u

cache="${AWSLAB_TEST_CACHE:-/tmp/awslab-test-cache}"
dir="$cache/node"
bin="$dir/node_modules/.bin/newman"

if command -v newman >/dev/null 2>&1; then
  echo "install_newman: newman is on PATH ($(command -v newman)); nothing to do"
  exit 0
fi
if [ -x "$bin" ] && version=$("$bin" --version 2>/dev/null); then
  echo "install_newman: newman $version is already in $dir"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install_newman: npm is not installed; the Postman test will be skipped (install Node.js 16+ and rerun)"
  exit 0
fi

mkdir -p "$dir"
start=$(date +%s)
# --prefix keeps it out of the project and the global node_modules; the log goes to a file so
# the CI log stays short.
if npm install --prefix "$dir" --no-audit --no-fund --loglevel=error newman@6 >"$dir/install.log" 2>&1 \
  && version=$("$bin" --version 2>/dev/null); then
  echo "install_newman: installed newman $version in $dir in $(($(date +%s) - start)) s"
else
  echo "install_newman: npm install newman@6 failed (see $dir/install.log); the Postman test will be skipped"
  tail -n 5 "$dir/install.log" 2>/dev/null
fi
exit 0
