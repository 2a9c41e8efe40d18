#!/usr/bin/env bash
# A sync tool for `orgalorg -S`: every host checks the uploaded files, waits until all hosts have
# checked theirs, then goes on. orgalorg runs it in the directory the files were unpacked into.
set -euo pipefail

# "<prefix> HELLO", then one "NODE [user@host:port]" line per host, then "<prefix> START".
read -r prefix _hello
nodes=0
while read -r line; do
    case $line in
        NODE*) nodes=$((nodes + 1)) ;;
        "$prefix START") break ;;
    esac
done

echo "phase 1: $(find . -type f | wc -l) files here, $nodes hosts in the run"
echo "$prefix SYNC checked"

# orgalorg relays every host's SYNC to every host: "<prefix> SYNC [user@host:port] checked".
seen=0
while [ "$seen" -lt "$nodes" ] && read -r line; do
    case $line in
        "$prefix SYNC "*" checked") seen=$((seen + 1)) ;;
    esac
done
echo "phase 2: all $nodes hosts checked their files"
