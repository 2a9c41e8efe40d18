#!/usr/bin/env bash
# demo.sh - the main job end to end on this machine: start three real sshd hosts on loopback
# (127.20.0.1-3, as the tests do), run a command on all of them at once with orgalorg, then
# stop them. Run as root, after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."

state=$(mktemp -d "${TMPDIR:-/tmp}/orgalorg-demo.XXXXXX")
hosts_sh=test/support/sshd-hosts.sh
# Addresses 127.21.0.x, apart from the tests' 127.20.0.x, so a demo can run beside them.
export SSHD_HOSTS_NET=21
stop() {
    bash "$hosts_sh" down "$state" >/dev/null 2>&1 || true
    rm -rf "$state"
}
trap stop EXIT

echo "starting 3 sshd hosts..." >&2
bash "$hosts_sh" up 3 "$state" >/dev/null
eval "$(bash "$hosts_sh" env "$state")"

flags=(-u "$TEST_USER" -k "$TEST_KEY")
for host in $TEST_HOSTS; do flags+=(-o "$host"); done

echo "\$ orgalorg -o ... -C -- 'echo hello from \$(whoami) in \$(pwd); uname -sr'" >&2
HOME=$state node dist/cli.js "${flags[@]}" -C -- 'echo hello from $(whoami) in $(pwd); uname -sr'
