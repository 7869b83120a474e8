#!/usr/bin/env bash
# The tests start a real PostgreSQL on loopback and drive Debian's Chromium. Install them from
# Debian's packages when they are missing and we may (root); otherwise the tests that need them
# skip and say why.
set -u
need=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing from Debian: ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 \
      || echo "Could not install ${need[*]}; the tests that need them will skip."
  else
    echo "Missing ${need[*]} (not root): the tests that need them will skip."
  fi
fi
exit 0
