#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { catchError, throwError, type Observable } from 'rxjs';
import { CliExit, parseCommandLine, type CliOptions } from './cli/options.js';
import { helpText } from './cli/help.js';
import { OrgalorgError, isOrgalorgError } from './errors.js';
import { allHosts } from './operators/all-hosts.js';
import {
  commandRun,
  lockHold,
  syncRun,
  uploadRun,
  type FleetConfig,
  type UploadRunConfig,
} from './presets.js';
import { fileList } from './sources/files.js';
import { Routes } from './cli/routes.js';
import { session as inSession, Session } from './session.js';
import { createLogger, toLog } from './sinks/logger.js';
import { toJson } from './sinks/json.js';
import type { Sink } from './sinks/output.js';
import { toRaw } from './sinks/raw.js';
import { serial } from './sinks/serial.js';
import { toText } from './sinks/text.js';
import { hostArgs } from './sources/hosts.js';
import { openInputFile } from './transport/input-file.js';
import { loadKeysAsking } from './transport/keys.js';
import { promptSecret } from './transport/prompt.js';
import { remoteCommand } from './transport/remote-command.js';
import { sshTransport } from './transport/ssh.js';
import type { ParsedKey } from 'ssh2';
import type { HostEvent, LogHook, LogLevel } from './types.js';

const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

function logLevel(options: CliOptions): LogLevel {
  if (options.quiet) return 'error';
  if (options.verbose >= 2) return 'trace';
  return options.verbose === 1 ? 'debug' : 'info';
}

function outputSink(options: CliOptions, log: LogHook): Sink {
  const sink = options.json
    ? toJson()
    : options.quiet
      ? toRaw()
      : options.verbose > 0
        ? toLog(log)
        : toText();
  return options.serial ? serial(sink) : sink;
}

/** `/var/run/orgalorg/` and the local time, as orgalorg names a run's directory. */
function runDirectory(now: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}` +
    `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  const fraction = String(now.getMilliseconds() * 1000 + Math.floor(Math.random() * 1000))
    .padStart(6, '0')
    .replace(/0+$/, '');
  return `/var/run/orgalorg/${stamp}${fraction === '' ? '' : `.${fraction}`}`;
}

interface Auth {
  readonly keys: ParsedKey[];
  readonly password?: string;
}

/** Reads keys and asks for passphrase and password, once, before any host is contacted. */
async function prepareAuth(options: CliOptions, log: LogHook): Promise<Auth> {
  const ask = (question: string) =>
    promptSecret(question, question.replace(/: $/, '').toLowerCase());
  const password = options.password ? await ask('Password: ') : undefined;
  const keys = await loadKeysAsking({
    explicit: options.key === undefined ? undefined : [options.key],
    ask,
    log,
  });
  return { keys, password };
}

/** Picks the preset pipeline of the mode. */
function pipeline(options: CliOptions, log: LogHook, sink: Sink, owner: Session, auth: Auth) {
  const { keys, password } = auth;
  const agent = process.env.SSH_AUTH_SOCK || undefined;
  // Without these, a host can still log in with an ssh_config IdentityFile: Routes checks.
  const common = keys.length > 0 || password !== undefined || agent !== undefined;
  const routes = new Routes(options, log, common);
  const hosts = hostArgs(options.hosts, {
    user: options.user,
    defaults: (address) => routes.defaults(address),
    ...(options.readStdin ? { stdin: process.stdin } : {}),
  }).pipe(
    catchError((error: unknown) =>
      throwError(
        () =>
          new OrgalorgError("can't parse all specified addresses", {
            code: isOrgalorgError(error) ? error.code : 'hosts.parse',
            children: [error],
          }),
      ),
    ),
    // Every host is parsed before the first is contacted: a bad one fails the run up front.
    allHosts(),
  );
  const stdin = options.stdin === undefined ? undefined : openInputFile(options.stdin);
  return inSession((session): Observable<HostEvent> => {
    const fleet: FleetConfig = {
      hosts,
      session,
      transport: sshTransport({
        keys,
        password,
        route: (host) => routes.route(host),
        verifyHostKey: (hop, key) => routes.verify(hop, key),
        agent,
        connectTimeout: options.connectTimeout,
        keepAlive: options.keepAlive,
        receiveTimeout: options.receiveTimeout,
      }),
      concurrency: options.threads,
      connectFailover: options.connectFailover,
      lock: options.lock
        ? {
            path: options.lockFile,
            failover: options.lockFailover,
            // An -r directory an upload is about to create: lock its nearest existing parent.
            nearestExisting: options.lockFileDerived && options.mode !== 'command',
          }
        : undefined,
      heartbeatPeriod: Math.floor(options.sendTimeout * 0.8),
      log,
    };
    if (options.mode === 'lock') return lockHold(fleet);
    if (options.mode === 'command') {
      return commandRun({
        ...fleet,
        command: remoteCommand(options.words, {
          shell: options.shell,
          directory: options.root,
          sudo: options.sudo,
        }),
        sudo: options.sudo,
        tty: options.tty,
        paused: sink.paused,
        stdin,
      });
    }

    // Without -r the files go to a new run directory; with nothing uploaded there is none.
    const uploading = options.mode === 'upload' || options.upload;
    const directory = options.root ?? (uploading ? runDirectory(new Date()) : undefined);
    const upload: UploadRunConfig = {
      ...fleet,
      files: () => fileList(options.words, { relative: options.relative, log }),
      archive: { noPreserveUid: options.noPreserveUid, noPreserveGid: options.noPreserveGid },
      directory: directory ?? '',
      sudo: options.sudo,
      verbose: options.verbose > 0,
      paused: sink.paused,
    };
    if (options.mode === 'upload') return uploadRun(upload);
    return syncRun({
      ...upload,
      upload: options.upload,
      simple: options.simple,
      stdin,
      tool: remoteCommand([options.syncCommand], {
        shell: options.shell,
        directory,
        args: options.syncArgs,
        sudo: options.sudo,
      }),
    });
  }, owner);
}

/** Runs the command line; resolves to the exit status. The only place that decides it. */
async function main(args: readonly string[]): Promise<number> {
  let options: CliOptions;
  const early = createLogger({ level: 'info', json: args.includes('--json') });
  try {
    options = parseCommandLine(args, helpText(userInfo().username), VERSION);
  } catch (error: unknown) {
    if (!(error instanceof CliExit)) {
      early({ level: 'fatal', message: '', error });
      return 1;
    }
    (error.stream === 'stdout' ? process.stdout : process.stderr).write(error.text);
    return error.exitCode;
  }

  const log = createLogger({ level: logLevel(options), json: options.json });
  let auth: Auth;
  try {
    auth = await prepareAuth(options, log);
  } catch (error: unknown) {
    log({ level: 'fatal', message: '', error });
    return 1;
  }
  const sink = outputSink(options, log);
  const owner = new Session();
  // -L holds the locks until interrupted, even with no host left to keep the process busy.
  const holding = options.mode === 'lock' ? setInterval(() => undefined, 1 << 30) : undefined;
  const status = await new Promise<number>((resolve) => {
    let run: Observable<HostEvent>;
    try {
      run = pipeline(options, log, sink, owner, auth);
    } catch (error: unknown) {
      log({ level: 'fatal', message: '', error });
      return resolve(1);
    }
    const subscription = run.subscribe({
      next: (event) => sink.next(event),
      error: (error: unknown) => {
        sink.error(error);
        log({ level: 'fatal', message: '', error });
        resolve(isOrgalorgError(error) ? error.exitCode : 1);
      },
      complete: () => {
        sink.complete();
        resolve(0);
      },
    });
    let stopping = false;
    const stop = (why: string, code: number) => {
      // A second Ctrl-C must not cut the teardown short and leave processes on the hosts.
      if (stopping) return log({ level: 'warn', message: `${why}: still stopping, please wait` });
      stopping = true;
      log({
        level: 'warn',
        message: `${why}: stopping remote commands and releasing locks on every host`,
      });
      subscription.unsubscribe();
      if (code !== 141) sink.complete();
      resolve(code);
    };
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
      ['SIGHUP', 129],
    ] as const) {
      process.on(signal, () => stop(signal, code));
    }
    // Our output went away (`| head`, a full disk): stop as a SIGPIPE would, but cleanly.
    for (const stream of [process.stdout, process.stderr]) {
      stream.on('error', (error: NodeJS.ErrnoException) =>
        stop(`output: ${error.code ?? error.message}`, 141),
      );
    }
  });
  clearInterval(holding);
  await owner.close();
  return status;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
    // Everything is closed by now; do not let a stray handle keep the process alive.
    setTimeout(() => process.exit(status), 1000).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
