#!/usr/bin/env bash
# bench-upload.sh - one 2 GB file to 4 hosts: orgalorg -U against `tar c | ssh host tar x` run
# to the same 4 hosts in parallel, measured in the same run, with the CLI's peak RSS (target:
# under 150 MB, wall time within 1.3x of the baseline). Run as root after `npm run build`.
# Hosts live on 127.25.0.1-4; the files land in each host's own /tmp (memory), removed between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mb=${BENCH_UPLOAD_MB:-2048}
hosts_sh=test/support/sshd-hosts.sh
export SSHD_HOSTS_NET=25
state=$(mktemp -d "${TMPDIR:-/tmp}/orgalorg-bench-upload.XXXXXX")
data=$(mktemp -d "${TMPDIR:-/var/tmp}/orgalorg-bench-data.XXXXXX")
stop() {
    bash "$hosts_sh" down "$state" >/dev/null 2>&1 || true
    rm -rf "$state" "$data"
}
trap stop EXIT

bash "$hosts_sh" up 4 "$state" >/dev/null
eval "$(bash "$hosts_sh" env "$state")"
read -ra addresses <<<"$TEST_HOSTS"
export HOME=$state

head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$data/big.bin"
sum=$(sha256sum <"$data/big.bin")
clean() { for i in 1 2 3 4; do bash "$hosts_sh" exec "$i" "$state" rm -rf /tmp/up; done; }
verify() { # every host holds the same bytes
    for i in 1 2 3 4; do
        [ "$(bash "$hosts_sh" exec "$i" "$state" sh -c 'sha256sum </tmp/up/big.bin')" = "$sum" ] ||
            echo "host $i: $1's copy differs" >&2
    done
}
now() { date +%s%N; }

flags=(-u "$TEST_USER" -k "$TEST_KEY" -e -r /tmp/up)
for host in "${addresses[@]}"; do flags+=(-o "$host"); done
clean
started=$(now)
(cd "$data" && /usr/bin/time -f '%M' -o "$state/rss" node "$OLDPWD/dist/cli.js" "${flags[@]}" -U big.bin)
ours=$((($(now) - started) / 1000000))
rss=$(($(cat "$state/rss") / 1024))
verify orgalorg

clean
ssh_flags=(-F none -i "$TEST_KEY" -o IdentitiesOnly=yes -o BatchMode=yes
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
started=$(now)
pids=()
for host in "${addresses[@]}"; do
    tar -C "$data" -cf - big.bin |
        ssh "${ssh_flags[@]}" "$TEST_USER@$host" 'mkdir -p /tmp/up && tar -C /tmp/up -xf -' &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
baseline=$((($(now) - started) / 1000000))

verify baseline
clean

echo "4. ${size_mb} MB to 4 hosts: orgalorg -U ${ours} ms (${rss} MB peak RSS)," \
    "tar c | ssh tar x x4 in parallel ${baseline} ms," \
    "ratio $(awk "BEGIN { printf \"%.2f\", $ours / $baseline }")"
