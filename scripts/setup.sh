#!/usr/bin/env bash
# setup.sh - everything a fresh Debian machine needs to build orgalorg and run its tests:
# OpenSSH server and client, sudo, expect and util-linux from apt (the tests start real sshd
# hosts on loopback), then the npm packages. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
command -v sudo >/dev/null || missing+=(sudo)
command -v expect >/dev/null || missing+=(expect)
command -v nsenter >/dev/null || missing+=(util-linux)
command -v ps >/dev/null || missing+=(procps)
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "setup.sh: run as root to install ${missing[*]}" >&2; exit 1; }
    # policy-rc.d keeps apt from starting the machine's own sshd.
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

npm ci
