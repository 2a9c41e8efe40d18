import { catchError, map, mergeMap, of, type Observable, type OperatorFunction } from 'rxjs';
import type { ConnectedHost } from '../host.js';
import type { CommandInput } from '../transport/transport.js';
import type { HostEvent, HostSpec, LogHook } from '../types.js';

export interface ExecConfig {
  /** The remote command line, the same for every host or made per host. */
  readonly command: string | ((host: HostSpec) => string);
  /** The command's stdin on each host (`-i`); none means EOF at once. */
  readonly stdin?: (target: ConnectedHost, index: number) => CommandInput | undefined;
  /** Ask for a pseudo-terminal; off by default, so stderr stays stderr. */
  readonly tty?: boolean;
  /** The command runs under sudo (stopping it then needs sudo too). */
  readonly sudo?: boolean;
  /** While this emits `true`, output reading pauses on every host (backpressure from a sink). */
  readonly paused?: Observable<boolean>;
  readonly log?: LogHook;
}

/**
 * Runs a command on every host that arrives and emits each host's output chunks as they come,
 * then one `exit` event per host; completes when every command has ended.
 *
 * A host whose connection is lost gets an `exit` event with `code: null` and the `error`, and
 * the others go on: failing the run is {@link expectSuccess}'s decision. Unsubscribing stops
 * the remote commands, and everything they started, on every host.
 *
 * @example
 * connected.pipe(exec({ command: 'uptime' })).subscribe(toText());
 * // web1  17:01:02 up 3 days, ...
 */
export function exec(config: ExecConfig | string): OperatorFunction<ConnectedHost, HostEvent> {
  const { command, stdin, tty, sudo, paused, log } =
    typeof config === 'string' ? ({ command: config } as ExecConfig) : config;
  return mergeMap((target: ConnectedHost, index: number) => {
    const { host } = target;
    const line = typeof command === 'string' ? command : command(host);
    log?.({ level: 'trace', host, message: `${host.node} starting command: ${line}` });
    return target.connection.run(line, { stdin: stdin?.(target, index), tty, sudo, paused }).pipe(
      map((event): HostEvent => ({ ...event, host })),
      catchError((error: unknown) =>
        of<HostEvent>({ kind: 'exit', host, code: null, signal: null, error }),
      ),
    );
  });
}
