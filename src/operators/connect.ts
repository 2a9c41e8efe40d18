import { catchError, concatWith, defer, EMPTY, map, mergeMap, type OperatorFunction } from 'rxjs';
import type { ConnectedHost } from '../host.js';
import type { Session } from '../session.js';
import type { Transport } from '../transport/transport.js';
import type { HostSpec, LogHook } from '../types.js';
import { FailoverCollector, type Failover } from './failover.js';

export interface ConnectConfig {
  readonly transport: Transport;
  /** Owns the connections: they close when the session ends. */
  readonly session: Session;
  /** How many hosts may be connecting at once (`-d`); 16 by default. */
  readonly concurrency?: number;
  /** `strict` (default) fails the run if any host is unreachable; `loose` (`-w`) drops it. */
  readonly failover?: Failover;
  readonly log?: LogHook;
}

/**
 * Connects to each host, at most `concurrency` at once, and emits each live host as soon as it
 * is connected.
 *
 * Strict: when the source completes and every host has been tried, errors with code
 * `connect.cluster` listing each host that could not be reached (hosts already emitted stay
 * connected until the session ends). Loose: logs a warning per unreachable host and completes.
 * Unsubscribing aborts the attempts in flight.
 *
 * @example
 * hosts(['web1', 'web2'], { user }).pipe(connect({ transport, session }));
 * // web1 and web2 as ConnectedHost values, in the order they answered
 */
export function connect(config: ConnectConfig): OperatorFunction<HostSpec, ConnectedHost> {
  const { session, log } = config;
  return (source) =>
    defer(() => {
      const collector = new FailoverCollector(config.failover ?? 'strict', log);
      let connected = 0;
      const report = (outcome: string, host: HostSpec) =>
        log?.({
          level: 'debug',
          host,
          message: `${String(connected).padStart(4)}/${collector.tried} (${collector.failed} failed) connection ${outcome}: ${host.node}`,
        });

      const attempt = (host: HostSpec) => {
        collector.attempt();
        log?.({ level: 'trace', host, message: `connecting to address: '${host.node}'` });
        return config.transport.connect(host).pipe(
          map((connection): ConnectedHost => {
            session.own(connection);
            connected += 1;
            report('established', host);
            return { host, connection, session };
          }),
          catchError((error: unknown) => {
            collector.fail(error);
            report('failed', host);
            return EMPTY;
          }),
        );
      };

      return source.pipe(
        mergeMap(attempt, config.concurrency ?? 16),
        concatWith(collector.verdictOnce()),
      );
    });
}
