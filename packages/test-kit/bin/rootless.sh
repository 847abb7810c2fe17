#!/usr/bin/env bash
# iso-rootless (@iso/test-kit's bin): runs a command (a package's test suite) as the
# unprivileged uid 65534, so every test runs both as root and rootless. When the caller is
# not root, the normal run already is rootless.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "rootless: already running as uid $(id -u); the main test run covers this"
  exit 0
fi
# The bounding set stays full, as for any logged-in user: setuid helpers (newuidmap) need it.
drop=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
env=(env HOME=/tmp ISO_TEST_ROOTLESS=1 PATH="$PATH")
if "${drop[@]}" test -r "$PWD/package.json" -a -x "$PWD"; then
  exec "${drop[@]}" "${env[@]}" "$@"
fi
# The checkout is not reachable by uid 65534 (for example under /root): show it, and the
# shared/ folder beside it that some tests read, through bind mounts in a private mount
# namespace, which disappear with the command.
# The real path: pnpm runs this through a link in node_modules/.bin.
repo=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd); rel=${PWD#"$repo"}
view=$(mktemp -d /tmp/iso-rootless.XXXXXX); chmod 755 "$view"
mkdir "$view/repo" "$view/shared"
trap 'rmdir "$view/repo" "$view/shared" "$view"' EXIT
unshare --mount --propagation private sh -c '
  mount --bind "$1" "$3/repo" && { [ ! -d "$2" ] || mount --bind "$2" "$3/shared"; } &&
  cd "$3/repo$4" && shift 4 && exec "$@"' \
  sh "$repo" "$repo/../shared" "$view" "$rel" "${drop[@]}" "${env[@]}" "$@"
