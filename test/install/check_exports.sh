#!/usr/bin/env bash
# The shared library exports only the public API: every defined dynamic
# symbol starts with art_ (internal art__ helpers must stay hidden).
# Usage: check_exports.sh <path to libasyncrt.so>
set -euo pipefail
syms=$(nm -D --defined-only "$1" | awk '{print $3}')
bad=$(printf '%s\n' "$syms" | grep -v '^art_' | grep -v '^$' || true)
internal=$(printf '%s\n' "$syms" | grep '^art__' || true)
if [ -n "$bad$internal" ]; then
  echo "symbols outside the public API:"
  printf '%s\n' $bad $internal
  exit 1
fi
echo "$(printf '%s\n' "$syms" | wc -l) symbols exported, all art_"
