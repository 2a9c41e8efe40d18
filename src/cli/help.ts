import { USAGE } from './options.js';

/** The `--help` text: the usage lines orgalorg users know, then every flag. */
export function helpText(user: string): string {
  return `orgalorg: run commands and hold a lock on many hosts over SSH, in parallel.

${USAGE}

Modes:
  -C --command         Run <command>... on every host. The words are joined by spaces,
                       so shell syntax in them works on the hosts, as with ssh.
  -L --lock            Lock every host, then hold the locks until Ctrl-C.
  -U --upload          Upload <files>... to every host under -r.
  -S --sync            Upload <files>..., then run the sync tool on every host.

Hosts:
  -o --host <host>     A host as [user@]host[:port] ([::1]:22 and ::1 work too), or,
                       when it starts with / or ./, a file of hosts: one per line,
                       blank lines and # comments skipped. Repeatable.
  -s --read-stdin      Also read hosts, one per line, from stdin.
  -u --user <user>     Login user for hosts given without one [default: ssh_config
                       User, else ${user}].
  -w --no-conn-fail    Skip hosts that cannot be reached, with a warning,
                       instead of failing the run.
  -d --threads <n>     Hosts connecting and locking at once [default: 16].

Authentication:
  -k --key <identity>  Private key file [default: ~/.ssh/id_ed25519, id_ecdsa,
                       id_rsa, those that exist]. Keys of ssh-agent are offered too;
                       an encrypted key asks its passphrase once on the terminal.
  -p --password        Ask a password once on the terminal, for every host.
  --host-key-check <mode>  accept-new (default: unknown hosts are recorded in
                       known_hosts, changed keys refused), strict, or off.
  --known-hosts <file> known_hosts file instead of ~/.ssh/known_hosts.
  -F --ssh-config <file>  ssh_config file instead of ~/.ssh/config.

Locking:
  --lock-file <path>   Remote file or directory to flock [default: -r, else /].
  -y --no-lock         Do not lock.
  -t --no-lock-fail    Go on, with a warning, on hosts where the lock is held.

Commands:
  -r --root <dir>      Run the command in <dir> on every host.
  -x --sudo            Run the command under sudo -n -E -H.
  -i --stdin <file>    Send <file> to every host's command on stdin (read once);
                       without it the command's stdin is empty.
  --shell <template>   Wrap the command: {} becomes the command text
                       [default: bash -c '{}']. Empty: no wrapper.
  --tty                Ask for a pseudo-terminal (stderr then joins stdout).

Upload and sync:
  -e --relative        Keep local paths relative in the archive.
  -n --sync-cmd <cmd>  The sync tool [default: /usr/lib/orgalorg/sync].
  -g --arg <arg>       Argument for the sync tool. Repeatable.
  -m --simple          Run the sync tool as a plain command.
  --no-upload          Skip the upload.
  --no-preserve-uid    Archive files as owned by uid 0.
  --no-preserve-gid    Archive files as owned by gid 0.

Output:
  -q --quiet           Raw output: no host prefix, nothing added; only errors logged.
  -v --verbose         Log more: once for debug, twice for trace.
  -l --serial          Keep each host's output together.
  --json               One JSON object per output chunk and per log line.
  --color <mode>, --bar-format <f>, --log-format <f>, --colors-dark, --colors-light
                       Accepted for compatibility; output has no colours.

Timeouts (milliseconds):
  -c --conn-timeout <ms>  Connecting, SSH greeting and login [default: 10000].
  -j --send-timeout <ms>  The lock heartbeat pings every 0.8 x this [default: 60000].
  -z --recv-timeout <ms>  A connection silent this long is lost [default: 60000].
  -a --keep-alive <ms>    SSH keep-alive interval, 0 for none [default: 10000].

  -h --help            This text.
  -V --version         The version.

Exit status: 0 success, 1 failure, 2 a lock was lost, 130 Ctrl-C, 143 SIGTERM.
`;
}
