#!/usr/bin/env bash
# Sets up a fresh machine (Node 20+, npm, a C compiler, apt) for iso: system packages the
# tests and benchmarks use, the pinned pnpm, the workspace's dependencies and a build.
# Safe to run again; each part is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools: the aarch64 cross compiler (the runner must build for both arches),
# qemu-user (to run the aarch64 runner), util-linux/procps/libcap2-bin (test oracles),
# bubblewrap and crun (benchmark peers), uidmap (newuidmap) and iproute2 (ip -j, the network oracle).
apt_pkgs=()
command -v aarch64-linux-gnu-gcc >/dev/null || apt_pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || apt_pkgs+=(qemu-user)
command -v bwrap >/dev/null || apt_pkgs+=(bubblewrap)
command -v crun >/dev/null || apt_pkgs+=(crun)
command -v newuidmap >/dev/null || apt_pkgs+=(uidmap)
command -v ipcmk >/dev/null || apt_pkgs+=(util-linux)
command -v setpriv >/dev/null || apt_pkgs+=(util-linux)
command -v capsh >/dev/null || apt_pkgs+=(libcap2-bin)
command -v ps >/dev/null || apt_pkgs+=(procps)
command -v ip >/dev/null || apt_pkgs+=(iproute2)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || apt_pkgs+=(libc6-dev)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${apt_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  else
    echo "setup: not root, so not installing ${apt_pkgs[*]}; tests that need them will say so" >&2
  fi
fi

# A Docker-format seccomp profile for the tests that must run on every clone: Podman's
# default profile, from Debian's golang-github-containers-common. Installing that package
# would pull in netavark, iptables and more, so only its one file is extracted.
profile=/usr/share/containers/seccomp.json
if [ ! -f "$profile" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: extracting $profile from golang-github-containers-common"
    work=$(mktemp -d)
    ( cd "$work" && { apt-get download golang-github-containers-common >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get download golang-github-containers-common >/dev/null; }; } )
    mkdir -p "$(dirname "$profile")"
    dpkg-deb --fsys-tarfile "$work"/golang-github-containers-common_*.deb | tar -xO ".$profile" > "$profile.tmp"
    mv "$profile.tmp" "$profile"
    rm -rf "$work"
  else
    echo "setup: not root, so not extracting $profile; the seccomp profile tests will say so" >&2
  fi
fi

# Subordinate ids for the multi-range user namespace tests: root, and nobody (uid 65534)
# for the rootless run. newuidmap accepts the user name or the uid.
if [ "$(id -u)" = 0 ]; then
  for f in /etc/subuid /etc/subgid; do
    grep -qE '^(root|0):' "$f" 2>/dev/null || echo 'root:300000:65536' >> "$f"
    grep -qE '^(nobody|65534):' "$f" 2>/dev/null || echo 'nobody:200000:65536' >> "$f"
  done
fi

# The pnpm version pinned in package.json's packageManager field.
want=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing pnpm $want"
  npm install -g --silent "pnpm@$want"
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm turbo run build --output-logs=errors-only
