#!/usr/bin/env bash
# sshd-hosts.sh - real SSH servers on loopback for orgalorg's tests.
#
# Usage (as root):
#   sshd-hosts.sh up N STATE_DIR [--shared]
#       start hosts 1..N (running ones are reused), wait until each accepts
#       the test key, print their addresses one per line.
#   sshd-hosts.sh down STATE_DIR
#       stop every process of every host started from STATE_DIR.
#   sshd-hosts.sh env STATE_DIR
#       print exports TEST_HOSTS TEST_KEY TEST_USER TEST_PASSWORD.
#   sshd-hosts.sh exec I STATE_DIR CMD...
#       run CMD as root inside host I's filesystem view.
#   sshd-hosts.sh pids I STATE_DIR
#       print the pids of the processes living in host I.
#
# Host I listens on port 22 of 127.N.0.I (I <= 250) or 127.N.1.(I-250)
# (I <= 500), where N is SSHD_HOSTS_NET (default 20). Nothing ever listens
# outside 127.N.0.0/16.
#
# Default mode: one sshd per host, started inside a private mount namespace
# and chrooted into an overlayfs whose lower layer is the real / and whose
# upper layer is a tmpfs of that host. /tmp, /var/tmp and /run are fresh
# tmpfs mounts; /proc, /dev, /sys are the real ones. Files and flocks are
# therefore per host. Nothing is mounted in the caller's namespace.
#
# --shared mode (benchmarks with many hosts): no chroot, no isolation, the
# real machine's files. OpenSSH refuses more than 16 listen sockets per
# sshd, so hosts are served by ceil(N/16) sshd processes (16 addresses each)
# sharing one host key and one private mount namespace.
#
# Every process of a host (its sshd, the sessions it spawns, 'exec'
# commands) is recognised by a random token file that only that host's
# mount namespace sees; 'pids' and 'down' read it through /proc/PID/root.
#
# Environment: SSHD_HOSTS_WAIT (seconds to wait for logins, default 60),
# SSHD_HOSTS_TMPFS_SIZE (size of each host's upper layer, default 2g),
# SSHD_HOSTS_EXTRA_CONFIG (sshd_config lines for the hosts 'up' starts, put
# before the defaults so that they win, e.g. 'PasswordAuthentication no').

set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

TEST_USER=orgalorg
TEST_PASSWORD=orgalorg-acceptance
SUDOERS_FILE=/etc/sudoers.d/orgalorg-acceptance
SSHD=/usr/sbin/sshd
MAX_HOSTS=500
SOCKS_PER_SSHD=16 # OpenSSH's MAX_LISTEN_SOCKS
# Paths as seen inside a default-mode host.
HOST_TOKEN=/run/orgalorg-test-host.token
HOST_ETC=/run/orgalorg-test-host
SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

STATE=

die() {
    echo "sshd-hosts.sh: $*" >&2
    exit 1
}

note() {
    echo "sshd-hosts.sh: $*" >&2
}

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$SELF" >&2
    exit 2
}

need_root() {
    [ "$(id -u)" = 0 ] ||
        die "must be run as root (it starts sshd on port 22, mounts and chroots)"
}

set_state() {
    [ -n "${1:-}" ] || die "missing STATE_DIR"
    case $1 in
        /*) STATE=$1 ;;
        *) STATE=$PWD/$1 ;;
    esac
    STATE=${STATE%/}
    [ -n "$STATE" ] || die "refusing state dir /"
    # The second octet of the addresses: SSHD_HOSTS_NET when the state dir is new, then the
    # one recorded in it, so down, env, exec and pids find the same hosts.
    if [ -s "$STATE/net" ]; then
        NET=$(cat "$STATE/net")
    else
        NET=${SSHD_HOSTS_NET:-20}
    fi
    case $NET in
        '' | *[!0-9]*) die "SSHD_HOSTS_NET must be a number from 1 to 254" ;;
    esac
    [ "$NET" -ge 1 ] && [ "$NET" -le 254 ] || die "SSHD_HOSTS_NET must be 1..254"
}

check_index() {
    case ${1:-} in
        '' | *[!0-9]*) die "bad host index '${1:-}'" ;;
    esac
    [ "$1" -ge 1 ] && [ "$1" -le "$MAX_HOSTS" ] ||
        die "host index must be 1..$MAX_HOSTS"
}

addr() {
    if [ "$1" -le 250 ]; then
        echo "127.$NET.0.$1"
    else
        echo "127.$NET.1.$(($1 - 250))"
    fi
}

hostdir() { echo "$STATE/host$1"; }
shareddir() { echo "$STATE/shared"; }
new_token() { echo "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"; }

mode_of_state() {
    cat "$STATE/mode" 2>/dev/null || echo none
}

# --- processes -----------------------------------------------------------------

# proc_info PID - "STATE STARTTIME" of a live process, fails if it is gone.
proc_info() {
    local line
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    line=${line##*) }
    # shellcheck disable=SC2086
    set -- $line
    echo "$1 ${20}"
}

# read_token PID PATH - the token a process sees at PATH under its own root.
read_token() {
    local t=
    read -r t 2>/dev/null <"/proc/$1/root$2" || true
    echo "$t"
}

# scan - one line "UNIT PID START" for every live, non-zombie process of a
# host of STATE (UNIT is a host index, or "shared").
scan() {
    local -A tokens=()
    local d t shared_token= shared_mark= p pid info
    for d in "$STATE"/host*; do
        [ -f "$d/token" ] || continue
        t=$(cat "$d/token" 2>/dev/null) || continue
        [ -n "$t" ] && tokens[$t]=${d##*/host}
    done
    d=$(shareddir)
    if [ -f "$d/token" ]; then
        shared_token=$(cat "$d/token" 2>/dev/null) || true
        shared_mark=$d/mark/token
    fi
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        t=
        read -r t 2>/dev/null <"$p/root$HOST_TOKEN" || true
        if [ -n "$t" ] && [ -n "${tokens[$t]:-}" ]; then
            info=$(proc_info "$pid") || continue
            [ "${info%% *}" != Z ] && echo "${tokens[$t]} $pid ${info#* }"
            continue
        fi
        if [ -n "$shared_token" ]; then
            t=
            read -r t 2>/dev/null <"$p/root$shared_mark" || true
            if [ "$t" = "$shared_token" ]; then
                info=$(proc_info "$pid") || continue
                [ "${info%% *}" != Z ] && echo "shared $pid ${info#* }"
            fi
        fi
    done
    return 0
}

# host_anchor I - pid of host I's sshd if it is alive and really ours.
host_anchor() {
    local hd pid token
    hd=$(hostdir "$1")
    read -r pid 2>/dev/null <"$hd/sshd.pid" || return 1
    token=$(cat "$hd/token" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -n "$token" ] || return 1
    [ "$(read_token "$pid" "$HOST_TOKEN")" = "$token" ] || return 1
    echo "$pid"
}

# shared_anchors - pids of the shared-mode sshds; fails unless all are ours.
shared_anchors() {
    local sd token f pid n=0
    sd=$(shareddir)
    token=$(cat "$sd/token" 2>/dev/null) || return 1
    for f in "$sd"/sshd-*.pid; do
        [ -f "$f" ] || continue
        read -r pid <"$f" || return 1
        [ "$(read_token "$pid" "$sd/mark/token")" = "$token" ] || return 1
        echo "$pid"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
}

shared_count() {
    cat "$(shareddir)/count" 2>/dev/null || echo 0
}

# up_hosts - indexes of the hosts currently up, ascending.
up_hosts() {
    local d i
    case $(mode_of_state) in
        default)
            for d in "$STATE"/host*; do
                i=${d##*/host}
                case $i in '' | *[!0-9]*) continue ;; esac
                host_anchor "$i" >/dev/null && echo "$i"
            done | sort -n
            ;;
        shared)
            shared_anchors >/dev/null && seq "$(shared_count)"
            ;;
    esac
    return 0
}

# stop_units UNIT... - stop every process of the given units (host indexes
# and/or "shared"): TERM (KILL after 3 s), by pid, with the start time
# checked so that a recycled pid is never signalled; rescanned every 0.1 s
# so that processes forked meanwhile are caught too. Nothing is unmounted:
# a host's mounts exist only in its own namespace, which the kernel frees
# with its last process. (Detaching them first would also hide the token.)
stop_units() {
    local -A want=()
    local u pid round sig unit start info left=0
    for u in "$@"; do want[$u]=1; done

    for round in $(seq 60); do
        left=0
        sig=TERM
        [ "$round" -le 30 ] || sig=KILL
        while read -r unit pid start; do
            [ -n "${want[$unit]:-}" ] || continue
            info=$(proc_info "$pid") || continue
            [ "${info#* }" = "$start" ] || continue
            left=$((left + 1))
            kill "-$sig" "$pid" 2>/dev/null || true
        done < <(scan)
        [ "$left" -gt 0 ] || break
        sleep 0.1
    done

    for u in "$@"; do
        if [ "$u" = shared ]; then
            rm -f "$(shareddir)"/sshd-*.pid
        else
            rm -f "$(hostdir "$u")/sshd.pid"
        fi
    done
    if [ "$left" -gt 0 ]; then
        scan | while read -r unit pid start; do
            [ -n "${want[$unit]:-}" ] && note "still running: host $unit pid $pid"
        done
        return 1
    fi
}

all_units() {
    local d i
    for d in "$STATE"/host*; do
        i=${d##*/host}
        case $i in '' | *[!0-9]*) continue ;; esac
        echo "$i"
    done
    [ ! -d "$(shareddir)" ] || echo shared
}

# --- machine setup -------------------------------------------------------------

ensure_packages() {
    local missing=()
    [ -x "$SSHD" ] || missing+=(openssh-server)
    command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
        missing+=(openssh-client)
    command -v sudo >/dev/null && command -v visudo >/dev/null || missing+=(sudo)
    command -v expect >/dev/null || missing+=(expect)
    for t in unshare nsenter setsid flock; do
        command -v "$t" >/dev/null || { missing+=(util-linux); break; }
    done
    command -v useradd >/dev/null && command -v chpasswd >/dev/null ||
        missing+=(passwd)
    [ "${#missing[@]}" -gt 0 ] || return 0

    note "installing ${missing[*]}"
    # With a policy-rc.d that answers 101, apt does not start the machine's
    # own sshd (which would take port 22 on every address).
    local policy=/usr/sbin/policy-rc.d made_policy= rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    {
        apt-get install -y -q --no-install-recommends "${missing[@]}" ||
            { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
    } >&2 || rc=$?
    [ -z "$made_policy" ] || rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
}

user_home() {
    getent passwd "$TEST_USER" | cut -d: -f6
}

ensure_user() {
    if ! id -u "$TEST_USER" >/dev/null 2>&1; then
        useradd --create-home --shell /bin/bash --user-group "$TEST_USER"
    fi
    local home hash
    home=$(user_home)
    [ -d "$home" ] || install -d -o "$TEST_USER" -g "$TEST_USER" -m 0755 "$home"

    # Rewrite /etc/shadow only when needed: running hosts see the real /
    # through their overlay.
    hash=$(getent shadow "$TEST_USER" | cut -d: -f2)
    if ! command -v perl >/dev/null ||
        [ "$(perl -e 'print crypt($ARGV[0], $ARGV[1]) // ""' \
            "$TEST_PASSWORD" "$hash")" != "$hash" ]; then
        echo "$TEST_USER:$TEST_PASSWORD" | chpasswd
    fi

    local rule="$TEST_USER ALL=(ALL:ALL) NOPASSWD: ALL" tmp
    if [ "$(cat "$SUDOERS_FILE" 2>/dev/null)" != "$rule" ]; then
        tmp=$(mktemp)
        echo "$rule" >"$tmp"
        visudo -qcf "$tmp" >/dev/null || { rm -f "$tmp"; die "visudo rejects: $rule"; }
        install -m 0440 "$tmp" "$SUDOERS_FILE"
        rm -f "$tmp"
    fi
}

ensure_state() {
    mkdir -p "$STATE"
    chmod 0755 "$STATE" # the test user reads authorized_keys here (shared)
    if [ ! -s "$STATE/id_ed25519" ] || [ ! -s "$STATE/id_ed25519.pub" ]; then
        rm -f "$STATE/id_ed25519" "$STATE/id_ed25519.pub"
        ssh-keygen -q -t ed25519 -N '' -C orgalorg-test -f "$STATE/id_ed25519"
    fi
    install -m 0644 "$STATE/id_ed25519.pub" "$STATE/authorized_keys"
    echo "$NET" >"$STATE/net"
}

# --- sshd configuration --------------------------------------------------------

# sshd_config HOSTKEY PIDFILE AUTHKEYS STRICT MAXSTARTUPS MAXSESSIONS ADDR...
sshd_config() {
    local key=$1 pidfile=$2 authkeys=$3 strict=$4 startups=$5 sessions=$6 a
    shift 6
    echo "# generated by sshd-hosts.sh for orgalorg's tests"
    # sshd keeps the first value of a keyword: the caller's lines come first.
    if [ -n "${SSHD_HOSTS_EXTRA_CONFIG:-}" ]; then printf '%s\n' "$SSHD_HOSTS_EXTRA_CONFIG"; fi
    for a in "$@"; do echo "ListenAddress $a:22"; done
    cat <<EOF
HostKey $key
PidFile $pidfile
AllowUsers $TEST_USER
PermitRootLogin no
PubkeyAuthentication yes
AuthorizedKeysFile $authkeys
StrictModes $strict
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PermitEmptyPasswords no
UsePAM yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding yes
MaxAuthTries 10
MaxSessions $sessions
MaxStartups $startups
LoginGraceTime 60
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
LogLevel INFO
EOF
    # Newer OpenSSH (9.8+) penalises sources with failed logins; tests that
    # try wrong passwords on purpose must not lock the next ones out.
    if [ -n "$PENALTIES_OFF" ]; then echo "PerSourcePenalties no"; fi
}

PENALTIES_OFF=
detect_sshd_options() {
    local key=$STATE/.probe_key
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -f "$key"
    if "$SSHD" -t -f /dev/null -h "$key" -o PerSourcePenalties=no >/dev/null 2>&1; then
        PENALTIES_OFF=1
    fi
    rm -f "$key" "$key.pub"
}

# --- default mode: one isolated sshd per host -------------------------------

start_host() {
    local i=$1 hd
    hd=$(hostdir "$i")
    rm -rf "$hd"
    mkdir -p "$hd/view" "$hd/layer"
    ssh-keygen -q -t ed25519 -N '' -C "orgalorg-test-host$i" \
        -f "$hd/ssh_host_ed25519_key"
    new_token >"$hd/token"
    # Paths inside the config are as seen from inside the chroot.
    sshd_config "$HOST_ETC/ssh_host_ed25519_key" "$HOST_ETC/sshd.pid" \
        .ssh/authorized_keys yes 300:30:600 64 "$(addr "$i")" >"$hd/sshd_config"
    # Not a process group leader, so setsid, unshare, bash, chroot and sshd
    # each exec in turn and $! is the sshd itself.
    setsid unshare --mount --propagation private -- \
        bash "$SELF" __host "$i" "$STATE" \
        </dev/null >"$hd/start.log" 2>&1 9>&- &
    echo $! >"$hd/sshd.pid"
}

# Runs in the host's new mount namespace; ends as the host's sshd.
host_main() {
    local i=$1 hd view home d
    set_state "$2"
    hd=$(hostdir "$i")
    view=$hd/view
    mount -t tmpfs -o "mode=0755,size=${SSHD_HOSTS_TMPFS_SIZE:-2g}" \
        "orgalorg-host$i" "$hd/layer"
    mkdir "$hd/layer/upper" "$hd/layer/work"
    mount -t overlay "orgalorg-host$i" \
        -o "lowerdir=/,upperdir=$hd/layer/upper,workdir=$hd/layer/work" "$view"
    for d in proc dev sys; do
        mkdir -p "$view/$d"
        mount --rbind "/$d" "$view/$d"
    done
    for d in tmp var/tmp; do
        mkdir -p "$view/$d"
        mount -t tmpfs -o mode=1777 "orgalorg-host$i-tmp" "$view/$d"
    done
    mkdir -p "$view/run"
    mount -t tmpfs -o mode=0755,size=256m "orgalorg-host$i-run" "$view/run"
    install -d -m 0755 "$view/run/sshd"
    install -d -m 1777 "$view/run/lock"
    install -m 0644 "$hd/token" "$view$HOST_TOKEN"
    # The host's own state dir (config, host key, log) and nothing else.
    install -d -m 0755 "$view$HOST_ETC"
    mount --bind "$hd" "$view$HOST_ETC"

    home=$(user_home)
    install -d -o "$TEST_USER" -g "$TEST_USER" -m 0755 "$view$home"
    install -d -o "$TEST_USER" -g "$TEST_USER" -m 0700 "$view$home/.ssh"
    install -o "$TEST_USER" -g "$TEST_USER" -m 0600 "$STATE/id_ed25519.pub" \
        "$view$home/.ssh/authorized_keys"

    cd /
    exec env -i PATH="$SAFE_PATH" LANG=C.UTF-8 chroot "$view" "$SSHD" -D \
        -f "$HOST_ETC/sshd_config" -E "$HOST_ETC/sshd.log"
}

# --- shared mode: no isolation, 16 addresses per sshd -----------------------

start_shared() {
    local n=$1 sd g first last i addrs
    sd=$(shareddir)
    rm -rf "$sd"
    mkdir -p "$sd/mark"
    ssh-keygen -q -t ed25519 -N '' -C orgalorg-test-shared \
        -f "$sd/ssh_host_ed25519_key"
    new_token >"$sd/token"
    echo "$n" >"$sd/count"
    for ((g = 0; g * SOCKS_PER_SSHD < n; g++)); do
        first=$((g * SOCKS_PER_SSHD + 1))
        last=$((first + SOCKS_PER_SSHD - 1))
        [ "$last" -le "$n" ] || last=$n
        addrs=()
        for ((i = first; i <= last; i++)); do addrs+=("$(addr "$i")"); done
        sshd_config "$sd/ssh_host_ed25519_key" "$sd/sshd-$g.pid.sshd" \
            "$STATE/authorized_keys" no 1024:30:2048 256 "${addrs[@]}" \
            >"$sd/sshd-$g.config"
    done
    install -d -m 0755 /run/sshd # privilege separation dir of a real sshd
    setsid unshare --mount --propagation private -- \
        bash "$SELF" __shared "$STATE" \
        </dev/null >"$sd/start.log" 2>&1 9>&- &
    echo $! >"$sd/launcher.pid"
}

# Runs in the shared namespace: marks it, starts the sshds, waits for them.
shared_main() {
    local sd cfg g
    set_state "$1"
    sd=$(shareddir)
    mount -t tmpfs -o mode=0755,size=1m orgalorg-shared-mark "$sd/mark"
    cp "$sd/token" "$sd/mark/token"
    cd /
    for cfg in "$sd"/sshd-*.config; do
        g=${cfg##*/sshd-}
        g=${g%.config}
        env -i PATH="$SAFE_PATH" LANG=C.UTF-8 "$SSHD" -D -f "$cfg" \
            -E "$sd/sshd-$g.log" </dev/null &
        echo $! >"$sd/sshd-$g.pid"
    done
    wait
}

# --- readiness -----------------------------------------------------------------

ssh_key_login() {
    SSH_AUTH_SOCK='' ssh -F none -q -i "$STATE/id_ed25519" \
        -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
        -o ConnectTimeout=5 -o ControlPath=none -o LogLevel=ERROR \
        "$TEST_USER@$1" true </dev/null >/dev/null 2>&1
}

# ssh_banner ADDRESS - an SSH server greets on ADDRESS:22 (cheap check).
ssh_banner() {
    local line=
    exec 3<>"/dev/tcp/$1/22" || return 1
    read -r -t 5 line <&3 || true
    exec 3>&-
    [[ $line == SSH-* ]]
}

# wait_ready PROBE ADDRESS DEADLINE ALIVE_CHECK... - until PROBE ADDRESS
# succeeds; fails at the deadline or as soon as ALIVE_CHECK fails.
wait_ready() {
    local probe=$1 address=$2 deadline=$3
    shift 3
    while ! "$probe" "$address" 2>/dev/null; do
        "$@" >/dev/null 2>&1 || return 1
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

host_started() {
    # the launcher chain is alive (mounting, or already sshd)
    local pid info
    read -r pid <"$(hostdir "$1")/sshd.pid" || return 1
    info=$(proc_info "$pid") || return 1
    [ "${info%% *}" != Z ]
}

shared_started() {
    local pid info
    read -r pid <"$(shareddir)/launcher.pid" || return 1
    info=$(proc_info "$pid") || return 1
    [ "${info%% *}" != Z ]
}

# --- commands ------------------------------------------------------------------

cmd_up() {
    local n=${1:-} shared= i
    case $n in
        '' | *[!0-9]*) usage ;;
    esac
    [ "$n" -ge 1 ] && [ "$n" -le "$MAX_HOSTS" ] || die "N must be 1..$MAX_HOSTS"
    set_state "${2:-}"
    case ${3:-} in
        '') ;;
        --shared) shared=1 ;;
        *) usage ;;
    esac
    need_root
    ensure_packages
    ensure_user
    ensure_state
    exec 9>"$STATE/.lock"
    flock 9

    local mode=default
    [ -z "$shared" ] || mode=shared
    local old
    old=$(mode_of_state)
    if [ "$old" != "$mode" ] && [ "$old" != none ]; then
        note "switching $STATE from $old to $mode mode"
        # shellcheck disable=SC2046
        stop_units $(all_units) || die "could not stop the $old hosts"
        rm -rf "$STATE"/host* "$(shareddir)"
    fi
    echo "$mode" >"$STATE/mode"
    detect_sshd_options

    local deadline pids=() failed=0
    deadline=$(($(date +%s) + ${SSHD_HOSTS_WAIT:-60}))
    if [ "$mode" = default ]; then
        for ((i = 1; i <= n; i++)); do
            host_anchor "$i" >/dev/null && continue
            if [ -d "$(hostdir "$i")" ]; then
                stop_units "$i" || die "could not clear host $i"
            fi
            ! ssh_banner "$(addr "$i")" 2>/dev/null ||
                die "$(addr "$i"):22 is taken (hosts of another STATE_DIR?)"
            start_host "$i"
        done
        for ((i = 1; i <= n; i++)); do
            wait_ready ssh_key_login "$(addr "$i")" "$deadline" \
                host_started "$i" 9>&- &
            pids+=($!)
        done
    else
        if ! shared_anchors >/dev/null || [ "$(shared_count)" -lt "$n" ]; then
            if [ -d "$(shareddir)" ]; then
                stop_units shared || die "could not stop the shared sshds"
            fi
            for ((i = 1; i <= n; i++)); do
                ! ssh_banner "$(addr "$i")" 2>/dev/null ||
                    die "$(addr "$i"):22 is taken (hosts of another STATE_DIR?)"
            done
            start_shared "$n"
        fi
        # A key login through every sshd (the first address of each), a
        # greeting on every other address: 256 full logins in parallel
        # would take tens of seconds of CPU and prove nothing more.
        for ((i = 1; i <= n; i++)); do
            local probe=ssh_banner
            [ $(((i - 1) % SOCKS_PER_SSHD)) != 0 ] || probe=ssh_key_login
            wait_ready "$probe" "$(addr "$i")" "$deadline" shared_started 9>&- &
            pids+=($!)
        done
    fi
    for ((i = 1; i <= n; i++)); do
        if ! wait "${pids[$((i - 1))]}"; then
            failed=$((failed + 1))
            note "host $i ($(addr "$i")) does not accept the test key"
        fi
    done
    if [ "$failed" -gt 0 ]; then
        if [ "$mode" = default ]; then
            tail -n 5 "$STATE"/host*/start.log "$STATE"/host*/sshd.log 2>/dev/null |
                head -n 40 >&2 || true
        else
            tail -n 5 "$(shareddir)"/*.log 2>/dev/null | head -n 40 >&2 || true
        fi
        die "$failed host(s) did not come up (logs in $STATE)"
    fi
    for ((i = 1; i <= n; i++)); do addr "$i"; done
}

cmd_down() {
    set_state "${1:-}"
    need_root
    [ -d "$STATE" ] || return 0
    exec 9>"$STATE/.lock"
    flock 9
    # shellcheck disable=SC2046
    stop_units $(all_units)
}

# sq STRING - STRING quoted for the shell with single quotes.
sq() {
    local s=${1//\'/\'\\\'\'}
    printf "'%s'" "$s"
}

cmd_env() {
    set_state "${1:-}"
    need_root
    local hosts=() i
    for i in $(up_hosts); do hosts+=("$(addr "$i")"); done
    echo "export TEST_HOSTS=$(sq "${hosts[*]}")"
    echo "export TEST_KEY=$(sq "$STATE/id_ed25519")"
    echo "export TEST_USER=$(sq "$TEST_USER")"
    echo "export TEST_PASSWORD=$(sq "$TEST_PASSWORD")"
}

cmd_exec() {
    local i=${1:-} pid
    check_index "$i"
    set_state "${2:-}"
    shift 2
    [ $# -gt 0 ] || usage
    need_root
    if [ "$(mode_of_state)" = shared ]; then
        [ "$i" -le "$(shared_count)" ] || die "host $i is not up in $STATE"
        pid=$(shared_anchors) || die "host $i is not up in $STATE"
        pid=${pid%%$'\n'*}
        exec nsenter --target "$pid" --mount -- "$@"
    fi
    pid=$(host_anchor "$i") || die "host $i is not up in $STATE"
    exec nsenter --target "$pid" --mount --root --wd -- "$@"
}

cmd_pids() {
    local i=${1:-} unit pid start
    check_index "$i"
    set_state "${2:-}"
    need_root
    # In shared mode all hosts are the same processes.
    [ "$(mode_of_state)" != shared ] || i=shared
    scan | while read -r unit pid start; do
        [ "$unit" != "$i" ] || echo "$pid"
    done
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        env) cmd_env "$@" ;;
        exec) cmd_exec "$@" ;;
        pids) cmd_pids "$@" ;;
        __host) host_main "$@" ;;
        __shared) shared_main "$@" ;;
        *) usage ;;
    esac
}

main "$@"
