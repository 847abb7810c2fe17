#!/usr/bin/env bash
# Builds the runner: freestanding, static, no libc, warnings as errors. Always for the
# host's arch; for the other supported arch too when its cross compiler is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
flags=(-std=c11 -O2 -Wall -Wextra -Werror -static -nostdlib -ffreestanding -fno-builtin
  -fno-stack-protector -fno-pie -no-pie -fno-asynchronous-unwind-tables
  -fno-tree-loop-distribute-patterns -Wl,--build-id=none -s)
build() { # compiler arch
  "$1" "${flags[@]}" -o "build/iso-runner-$2.tmp" runner/runner.c
  mv "build/iso-runner-$2.tmp" "build/iso-runner-$2"
}
case "$(uname -m)" in
  x86_64) build "${CC:-cc}" x86_64
    if command -v aarch64-linux-gnu-gcc >/dev/null; then build aarch64-linux-gnu-gcc aarch64; fi ;;
  aarch64) build "${CC:-cc}" aarch64
    if command -v x86_64-linux-gnu-gcc >/dev/null; then build x86_64-linux-gnu-gcc x86_64; fi ;;
  *) echo "build-runner: unsupported arch $(uname -m)" >&2; exit 1 ;;
esac
