#!/usr/bin/env bash
# bench.sh - the speed and memory targets, measured on this machine (run as root, after
# `npm run build`; `npm run bench` does both):
#   1. `-C true` on 256 isolated sshd hosts with default settings (locking included): wall time.
#   2. 500 MB of output from each of 3 hosts to /dev/null: the CLI's peak RSS (target < 200 MB).
#   3. A 20 MB line without newline from each of 3 hosts: byte-exact with -q, one prefixed line
#      per host without: peak RSS and correctness.
# Hosts live on 127.22.0.x, apart from the tests' and the demo's.
set -euo pipefail
cd "$(dirname "$0")/.."

many=${BENCH_HOSTS:-256}
hosts_sh=test/support/sshd-hosts.sh
export SSHD_HOSTS_NET=22
state=$(mktemp -d "${TMPDIR:-/tmp}/orgalorg-bench.XXXXXX")
stop() {
    bash "$hosts_sh" down "$state" >/dev/null 2>&1 || true
    rm -rf "$state"
}
trap stop EXIT

if [ ! -x /usr/bin/time ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
fi

started=$(date +%s%N)
bash "$hosts_sh" up "$many" "$state" >/dev/null
echo "hosts: $many sshd hosts up in $((($(date +%s%N) - started) / 1000000)) ms"
eval "$(bash "$hosts_sh" env "$state")"
read -ra addresses <<<"$TEST_HOSTS"
export HOME=$state
og=(node dist/cli.js -u "$TEST_USER" -k "$TEST_KEY")

all=()
for host in "${addresses[@]}"; do all+=(-o "$host"); done
three=(-o "${addresses[0]}" -o "${addresses[1]}" -o "${addresses[2]}")

peak() { # peak RSS in MB and wall time of a command; its stdout to $out
    /usr/bin/time -f '%M %e' -o "$state/time" "$@" >"$out" 2>"$state/stderr" || {
        echo "FAILED: $*" >&2
        tail -n 5 "$state/stderr" >&2
        return 1
    }
    read -r kb seconds <"$state/time"
    echo "$((kb / 1024)) MB peak RSS, ${seconds} s"
}

out=$state/many.out
echo "1. -C true on $many hosts, default settings: $(peak "${og[@]}" "${all[@]}" -C true)" \
    "($(wc -l <"$out") output lines)"

out=/dev/null
echo "2. 500 MB from each of 3 hosts to /dev/null:" \
    "$(peak "${og[@]}" "${three[@]}" -C -- 'head -c 500000000 /dev/zero | tr "\0" "x" | fold -w 99')"

out=$state/line.q
line='head -c 20000000 /dev/zero | tr "\0" a'
echo "3a. 20 MB line x 3, -q: $(peak "${og[@]}" "${three[@]}" -q -C -- "$line")," \
    "$(tr -d a <"$out" | wc -c) stray bytes, $(wc -c <"$out") bytes (expected 60000000)"
out=$state/line.text
echo "3b. 20 MB line x 3, text: $(peak "${og[@]}" "${three[@]}" -C -- "$line")," \
    "$(wc -l <"$out") lines (expected 3)"
