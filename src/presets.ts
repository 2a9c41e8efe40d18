import type { Readable } from 'node:stream';
import {
  concat,
  concatWith,
  defer,
  EMPTY,
  from,
  ignoreElements,
  mergeMap,
  NEVER,
  tap,
  toArray,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { ConnectedHost } from './host.js';
import { allHosts } from './operators/all-hosts.js';
import { connect } from './operators/connect.js';
import { exec } from './operators/exec.js';
import { expectSuccess } from './operators/expect-success.js';
import type { Failover } from './operators/failover.js';
import { heartbeat } from './operators/heartbeat.js';
import { lock } from './operators/lock.js';
import { syncProtocol } from './operators/sync-protocol.js';
import { upload } from './operators/upload.js';
import type { FileEntry } from './sources/files.js';
import { packArchive, type ArchiveConfig } from './transport/archive.js';
import type { Session } from './session.js';
import { fanOut } from './transport/fan-out.js';
import type { Transport } from './transport/transport.js';
import type { HostEvent, HostSpec, LogHook } from './types.js';

export interface FleetConfig {
  readonly hosts: Observable<HostSpec>;
  readonly transport: Transport;
  readonly session: Session;
  /** Hosts connecting and locking at once (`-d`). */
  readonly concurrency: number;
  /** `loose` drops unreachable hosts (`-w`). */
  readonly connectFailover: Failover;
  /** The lock to take on every host, or none (`-y`). */
  readonly lock?: {
    readonly path: string;
    readonly failover: Failover;
    /** Lock the nearest existing parent when the path does not exist yet. */
    readonly nearestExisting?: boolean;
  };
  /** Time between heartbeat pings in ms. */
  readonly heartbeatPeriod: number;
  readonly scheduler?: SchedulerLike;
  readonly log?: LogHook;
}

/**
 * Connects to every host, locks each (unless `lock` is left out) and keeps the locks alive with
 * a heartbeat, then emits every host at once: nothing after it runs before the whole fleet is
 * connected and locked.
 */
export function fleet(config: FleetConfig): Observable<ConnectedHost> {
  const { log } = config;
  return defer(() => {
    let count = 0;
    const connected = config.hosts.pipe(
      connect({
        transport: config.transport,
        session: config.session,
        concurrency: config.concurrency,
        failover: config.connectFailover,
        log,
      }),
    );
    const locked =
      config.lock === undefined
        ? connected
        : connected.pipe(
            lock({ ...config.lock, concurrency: config.concurrency, log }),
            heartbeat({ period: config.heartbeatPeriod, scheduler: config.scheduler, log }),
          );
    return locked.pipe(
      tap({
        next: () => (count += 1),
        complete: () =>
          log?.({
            level: 'debug',
            message:
              config.lock === undefined
                ? `connection established to ${count} nodes`
                : `global lock acquired on ${count} nodes`,
          }),
      }),
      allHosts(),
    );
  });
}

export interface CommandRunConfig extends FleetConfig {
  /** The remote command line (see `remoteCommand`). */
  readonly command: string;
  /** Opens what every host's command reads on stdin (`-i`); read once for all hosts. */
  readonly stdin?: () => Readable;
  readonly tty?: boolean;
  readonly sudo?: boolean;
  /** Backpressure from the output sink. */
  readonly paused?: Observable<boolean>;
}

/**
 * The `-C` mode: runs the command on the whole fleet once it is connected and locked, emits
 * every host's output and exit, and errors after all hosts finished if any failed.
 */
export function commandRun(config: CommandRunConfig): Observable<HostEvent> {
  return fleet(config).pipe(
    toArray(),
    mergeMap((hosts) => commandOn(hosts, config)),
  );
}

/** Runs the command on every host, the input read once for all; fails if any host failed. */
function commandOn(
  hosts: readonly ConnectedHost[],
  config: Omit<CommandRunConfig, keyof FleetConfig> & { readonly log?: LogHook },
): Observable<HostEvent> {
  return defer(() => {
    const inputs = config.stdin === undefined ? undefined : fanOut(config.stdin(), hosts.length);
    return from(hosts).pipe(
      exec({
        command: config.command,
        tty: config.tty,
        sudo: config.sudo,
        paused: config.paused,
        log: config.log,
        stdin: (_target, index) => inputs?.[index],
      }),
      expectSuccess(),
    );
  });
}

/**
 * The `-L` mode: takes the lock on the whole fleet, says so, and holds it until unsubscribed
 * (Ctrl-C) or until a lock is lost, which errors.
 */
export function lockHold(config: FleetConfig): Observable<never> {
  return fleet(config).pipe(
    ignoreElements(),
    concatWith(
      defer(() => {
        config.log?.({ level: 'warn', message: '-L|--lock was passed, waiting for interrupt...' });
        return NEVER;
      }),
    ),
  );
}

export interface UploadRunConfig extends FleetConfig {
  /** The local files, walked before any host is contacted (`fileList`). */
  readonly files: () => Promise<readonly FileEntry[]>;
  readonly archive?: ArchiveConfig;
  /** Where the files land on every host (`-r`, else a new run directory). */
  readonly directory: string;
  readonly sudo?: boolean;
  /** tar lists what it unpacks. */
  readonly verbose?: boolean;
  readonly paused?: Observable<boolean>;
}

/** Streams the archive to every host; fails, after all hosts finished, if any did not unpack. */
function uploadTo(
  hosts: readonly ConnectedHost[],
  entries: readonly FileEntry[],
  config: UploadRunConfig,
) {
  return from(hosts).pipe(
    upload({
      archive: (count) =>
        fanOut(packArchive(entries, { ...config.archive, log: config.log }), count),
      directory: config.directory,
      sudo: config.sudo,
      verbose: config.verbose,
      paused: config.paused,
      log: config.log,
    }),
    expectSuccess({ message: "can't upload files on the remote nodes" }),
  );
}

/** The `-U` mode: list the files, connect and lock the fleet, upload. */
export function uploadRun(config: UploadRunConfig): Observable<HostEvent> {
  return defer(() => from(config.files())).pipe(
    mergeMap((entries) =>
      fleet(config).pipe(
        toArray(),
        mergeMap((hosts) => uploadTo(hosts, entries, config)),
      ),
    ),
  );
}

export interface SyncRunConfig extends UploadRunConfig {
  /** Skip the archive (`--no-upload`). */
  readonly upload: boolean;
  /** The sync tool's command line, run in `directory`. */
  readonly tool: string;
  /** Run the tool as a plain command, without the protocol (`-m`). */
  readonly simple: boolean;
  /** The tool's stdin in simple mode (`-i`). */
  readonly stdin?: () => Readable;
}

/**
 * The `-S` mode: upload as `-U` does, then, once every host has unpacked (a join), start the
 * sync tool on every host and speak the sync protocol with it (or run it plainly with `-m`).
 */
export function syncRun(config: SyncRunConfig): Observable<HostEvent> {
  const files = config.upload ? config.files : () => Promise.resolve([]);
  return defer(() => from(files())).pipe(
    mergeMap((entries) =>
      fleet(config).pipe(
        toArray(),
        mergeMap((hosts) =>
          concat(
            config.upload ? uploadTo(hosts, entries, config) : EMPTY,
            defer(() => {
              config.log?.({ level: 'trace', message: 'starting sync tool' });
              return config.simple
                ? commandOn(hosts, { ...config, command: config.tool })
                : from(hosts).pipe(
                    syncProtocol({
                      command: config.tool,
                      sudo: config.sudo,
                      paused: config.paused,
                      log: config.log,
                    }),
                    expectSuccess({ message: 'failed to run sync command' }),
                  );
            }),
          ),
        ),
      ),
    ),
  );
}
