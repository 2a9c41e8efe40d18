import type { Readable } from 'node:stream';
import {
  concatWith,
  defer,
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
  readonly lock?: { readonly path: string; readonly failover: Failover };
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
    mergeMap((hosts) => {
      // One reading of the input for all hosts: it is opened once the fleet is known.
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
      );
    }),
    expectSuccess(),
  );
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
