import { Command, CommanderError } from 'commander';
import { userInfo } from 'node:os';
import { OrgalorgError } from '../errors.js';

export const USAGE = `Usage:
  orgalorg -h | --help
  orgalorg [options] [-v]... (-o <host>...|-s) -r= -U <files>...
  orgalorg [options] [-v]... (-o <host>...|-s) [-r=] [-g=]... -S [<files>...|--no-upload]
  orgalorg [options] [-v]... (-o <host>...|-s) [-r=] -C [--] <command>...
  orgalorg [options] [-v]... (-o <host>...|-s) -L`;

export type Mode = 'command' | 'upload' | 'sync' | 'lock';

/** Every flag of the command line, validated. */
export interface CliOptions {
  readonly mode: Mode;
  /** The command words (`-C`) or the files (`-U`, `-S`). */
  readonly words: readonly string[];
  readonly hosts: readonly string[];
  readonly readStdin: boolean;
  readonly user: string;
  readonly key?: string;
  readonly password: boolean;
  readonly sudo: boolean;
  readonly lock: boolean;
  readonly lockFailover: 'strict' | 'loose';
  readonly connectFailover: 'strict' | 'loose';
  readonly root?: string;
  readonly lockFile: string;
  /** The lock file was not given with --lock-file. */
  readonly lockFileDerived: boolean;
  readonly relative: boolean;
  readonly syncCommand: string;
  readonly syncArgs: readonly string[];
  readonly simple: boolean;
  readonly upload: boolean;
  readonly noPreserveUid: boolean;
  readonly noPreserveGid: boolean;
  readonly stdin?: string;
  readonly serial: boolean;
  readonly quiet: boolean;
  readonly verbose: number;
  readonly json: boolean;
  readonly shell: string;
  readonly tty: boolean;
  readonly threads: number;
  readonly connectTimeout: number;
  readonly sendTimeout: number;
  readonly receiveTimeout: number;
  readonly keepAlive: number;
  /** How host keys are checked against known_hosts. */
  readonly hostKeyCheck: 'accept-new' | 'strict' | 'off';
  /** The user's known_hosts file, when not ~/.ssh/known_hosts. */
  readonly knownHosts?: string;
  /** The ssh_config file, when not ~/.ssh/config. */
  readonly sshConfig?: string;
  /** Flags given on the command line (not defaults): they win over ssh_config. */
  readonly given: ReadonlySet<string>;
}

/** Help, version or a usage error: what to print, where, and the exit status. */
export class CliExit extends Error {
  constructor(
    readonly text: string,
    readonly stream: 'stdout' | 'stderr',
    readonly exitCode: number,
  ) {
    super(text);
  }
}

const count = (_value: string, previous: number) => previous + 1;
const collect = (value: string, previous: string[]) => [...previous, value];

function program(): Command {
  return (
    new Command('orgalorg')
      .helpOption(false)
      .exitOverride()
      .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
      .allowExcessArguments(true)
      .passThroughOptions()
      .argument('[words...]')
      // The modes come first: -L/--lock and -U/--upload share their names with --no-lock and
      // --no-upload, and declared in this order a missing flag stays undefined.
      .option('-C, --command')
      .option('-U, --upload')
      .option('-S, --sync')
      .option('-L, --lock')
      .option('-h, --help')
      .option('-V, --version')
      .option('-o, --host <host>', '', collect, [])
      .option('-s, --read-stdin')
      .option('-k, --key <identity>')
      .option('-p, --password')
      .option('-x, --sudo')
      .option('-y, --no-lock')
      .option('-t, --no-lock-fail')
      .option('-w, --no-conn-fail')
      .option('-r, --root <root>')
      .option('-u, --user <user>')
      .option('-i, --stdin <file>')
      .option('-l, --serial')
      .option('-q, --quiet')
      .option('-v, --verbose', '', count, 0)
      .option('--lock-file <path>')
      .option('-e, --relative')
      .option('-n, --sync-cmd <cmd>')
      .option('-g, --arg <arg>', '', collect, [])
      .option('-m, --simple')
      .option('--shell <shell>', '', "bash -c '{}'")
      .option('--tty')
      .option('-d, --threads <n>', '', '16')
      .option('--no-preserve-uid')
      .option('--no-preserve-gid')
      .option('--no-upload')
      .option('--json')
      .option('--bar-format <format>')
      .option('--log-format <format>')
      .option('--colors-dark')
      .option('--colors-light')
      .option('--color <mode>')
      .option('-c, --conn-timeout <ms>', '', '10000')
      .option('-j, --send-timeout <ms>', '', '60000')
      .option('-z, --recv-timeout <ms>', '', '60000')
      .option('-a, --keep-alive <ms>', '', '10000')
      .option('--host-key-check <mode>', '', 'accept-new')
      .option('--known-hosts <file>')
      .option('-F, --ssh-config <file>')
  );
}

function usageError(message: string): CliExit {
  return new CliExit(`${message}\n${USAGE}\n`, 'stderr', 1);
}

// Node's timers hold at most 2^31 - 1 ms (about 24.8 days).
const LONGEST_MS = 2 ** 31 - 1;

function whole(text: string, what: string, least: number): number {
  const value = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(value) && value >= least && value <= LONGEST_MS) return value;
  throw new OrgalorgError("can't parse SSH connection timeouts", {
    code: 'usage',
    children: [
      new OrgalorgError(`can't convert specified ${what} to number: '${text}'`, {
        code: 'usage',
        children: [`expected a whole number of milliseconds from ${least} to ${LONGEST_MS}`],
      }),
    ],
  });
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/**
 * Reads the command line into {@link CliOptions}.
 *
 * @throws CliExit for help, version and usage errors; OrgalorgError (code `usage`) for a flag
 *   whose value is wrong, such as a timeout that is not a number.
 */
export function parseCommandLine(
  args: readonly string[],
  help: string,
  version: string,
): CliOptions {
  const command = program();
  try {
    command.parse([...args], { from: 'user' });
  } catch (error: unknown) {
    if (error instanceof CommanderError) throw usageError(error.message.replace(/^error: /, ''));
    throw error;
  }
  const flags = command.opts<Record<string, unknown>>();
  if (flags.help === true) throw new CliExit(help, 'stdout', 0);
  if (flags.version === true) throw new CliExit(`${version}\n`, 'stdout', 0);

  const modes: Mode[] = [];
  if (flags.command === true) modes.push('command');
  if (flags.upload === true) modes.push('upload');
  if (flags.sync === true) modes.push('sync');
  // -L and -y share the name "lock": true is -L, false is -y, undefined is neither.
  if (flags.lock === true) modes.push('lock');
  const [mode] = modes;
  if (mode === undefined || modes.length > 1) {
    throw usageError('give exactly one of -C, -U, -S and -L');
  }

  const hosts = flags.host as string[];
  if (hosts.length === 0 && flags.readStdin !== true) {
    throw usageError('no hosts: give -o <host> (repeatable) or -s to read them from stdin');
  }
  const words = command.args;
  if (mode === 'command' && words.length === 0) throw usageError('-C needs a command to run');
  if (mode === 'lock' && words.length > 0) {
    throw usageError(`-L takes no arguments, got '${words.join(' ')}'`);
  }
  if (mode === 'upload' && (words.length === 0 || !flags.root)) {
    throw usageError('-U needs -r <dir> and the files to upload');
  }
  if (mode === 'sync' && flags.upload === false && words.length > 0) {
    throw usageError(`--no-upload takes no files, got '${words.join(' ')}'`);
  }
  if (mode === 'sync' && flags.simple !== true && flags.stdin !== undefined) {
    throw usageError(
      '-i feeds the sync tool only with -m: in protocol mode its stdin is the protocol',
    );
  }
  if ((flags.arg as string[]).length > 0 && mode !== 'sync') {
    throw usageError('-g is for the sync tool of -S only');
  }

  if (flags.user === '') throw usageError('-u needs a user name, got an empty one');
  if (flags.readStdin === true && (flags.stdin === '-' || flags.stdin === '/dev/stdin')) {
    throw usageError('-s and -i - both read stdin: give the hosts or the input another way');
  }
  const threadsText = String(flags.threads);
  const threads = /^\d+$/.test(threadsText) ? Number(threadsText) : NaN;
  if (!(threads >= 1)) {
    throw new OrgalorgError(`--threads given invalid value: '${threadsText}'`, {
      code: 'usage',
      children: ["can't parse threads count: expected a whole number of hosts, 1 or more"],
    });
  }
  const shell = String(flags.shell);
  if (shell !== '' && !shell.includes('{}')) {
    throw new OrgalorgError(`--shell '${shell}' has no {} to put the command in`, {
      code: 'usage',
    });
  }

  const hostKeyCheck = String(flags.hostKeyCheck);
  if (hostKeyCheck !== 'accept-new' && hostKeyCheck !== 'strict' && hostKeyCheck !== 'off') {
    throw usageError(`--host-key-check must be accept-new, strict or off, got '${hostKeyCheck}'`);
  }
  const given = new Set(
    command.options
      .map((option) => option.attributeName())
      .filter((name) => command.getOptionValueSource(name) === 'cli'),
  );

  const root = flags.root === '' ? undefined : (flags.root as string | undefined);
  return {
    mode,
    words,
    hosts,
    readStdin: flags.readStdin === true,
    user: (flags.user as string | undefined) ?? currentUser(),
    key: flags.key as string | undefined,
    password: flags.password === true,
    sudo: flags.sudo === true,
    lock: flags.lock !== false,
    lockFailover: flags.lockFail === false ? 'loose' : 'strict',
    connectFailover: flags.connFail === false ? 'loose' : 'strict',
    root,
    lockFile: (flags.lockFile as string | undefined) ?? root ?? '/',
    lockFileDerived: flags.lockFile === undefined,
    relative: flags.relative === true,
    syncCommand: (flags.syncCmd as string | undefined) ?? '/usr/lib/orgalorg/sync "$@"',
    syncArgs: flags.arg as string[],
    simple: flags.simple === true,
    upload: flags.upload !== false,
    noPreserveUid: flags.preserveUid === false,
    noPreserveGid: flags.preserveGid === false,
    stdin: flags.stdin as string | undefined,
    serial: flags.serial === true,
    quiet: flags.quiet === true,
    verbose: flags.verbose as number,
    json: flags.json === true,
    shell,
    tty: flags.tty === true,
    threads,
    connectTimeout: whole(String(flags.connTimeout), 'connection timeout', 1),
    // The heartbeat pings every 0.8 × this and needs an answer before the next ping.
    sendTimeout: whole(String(flags.sendTimeout), 'send timeout', 1000),
    receiveTimeout: whole(String(flags.recvTimeout), 'receive timeout', 1),
    keepAlive: whole(String(flags.keepAlive), 'keep alive time', 0),
    hostKeyCheck,
    knownHosts: flags.knownHosts as string | undefined,
    sshConfig: flags.sshConfig as string | undefined,
    given,
  };
}
