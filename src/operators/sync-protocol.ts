import {
  catchError,
  concat,
  EMPTY,
  merge,
  mergeMap,
  Observable,
  of,
  Subject,
  throwError,
  toArray,
  type OperatorFunction,
} from 'rxjs';
import { OrgalorgError } from '../errors.js';
import type { ConnectedHost } from '../host.js';
import type { ExecEvent, HostEvent, LogHook } from '../types.js';
import type { Failover } from './failover.js';

const EMPTY_INPUT: Observable<string> = EMPTY;

export interface SyncProtocolConfig {
  /** The sync tool's command line (see `remoteCommand`). */
  readonly command: string;
  /** Starts every protocol line; unique per run by default (`ORGALORG:<ns>`). */
  readonly prefix?: string;
  /** A host lost mid-protocol: `strict` (default) stops every tool and errors, `loose` warns. */
  readonly failover?: Failover;
  readonly sudo?: boolean;
  readonly paused?: Observable<boolean>;
  readonly log?: LogHook;
}

/**
 * Starts the sync tool on every host (after all hosts arrived) and speaks orgalorg's protocol
 * with it: `<prefix> HELLO`, one `NODE [user@host:port]` line per host (` CURRENT` on the
 * receiving host's own), `<prefix> START`; then every `<prefix> SYNC <text>` line a tool prints
 * is relayed to every tool as `<prefix> SYNC [user@host:port] <text>`, whole, one relay at a
 * time. Emits a `sync` event per SYNC line, the tools' other output, and one `exit` per host.
 *
 * A host whose connection is lost fails the run at once when strict (the others' tools are
 * stopped, as they could wait for it forever); loose, it becomes an `exit` with the error.
 * Tools that ignore the protocol work too. Unsubscribing stops every tool.
 */
export function syncProtocol(
  config: SyncProtocolConfig,
): OperatorFunction<ConnectedHost, HostEvent> {
  return (source) =>
    source.pipe(
      toArray(),
      mergeMap((hosts) => {
        const prefix = config.prefix ?? `ORGALORG:${process.hrtime.bigint()}`;
        const inputs = hosts.map(() => new RelayInput());
        const pending: string[] = [];
        let relaying = false;
        // One relay reaches every tool before the next goes out, even when a tool answers
        // one relay with another at once (which calls relay() again from inside the loop).
        const relay = (line: string) => {
          pending.push(line);
          if (relaying) return;
          relaying = true;
          for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
            for (const input of inputs) input.push(next);
          }
          relaying = false;
        };
        config.log?.({
          level: 'trace',
          message: `starting sync protocol with ${hosts.length} nodes`,
        });

        return merge(
          ...hosts.map((target, index) => {
            const nodes = hosts.map(
              (other) => `NODE ${other.host.node}${other === target ? ' CURRENT' : ''}\n`,
            );
            const hello = `${prefix} HELLO\n${nodes.join('')}${prefix} START\n`;
            const stdin = concat(of(hello), inputs[index]?.lines ?? EMPTY_INPUT);
            const lines = new SyncLines(prefix);
            return target.connection
              .run(config.command, { stdin, sudo: config.sudo, paused: config.paused })
              .pipe(
                mergeMap((event) => lines.read(event)),
                mergeMap((event): Observable<HostEvent> => {
                  if (event.kind === 'sync') {
                    // As orgalorg sends it: a space before the text, even an empty one.
                    const text = ` ${event.text}`;
                    config.log?.({
                      level: 'trace',
                      host: target.host,
                      message: `${target.host.node} sent sync command: '${event.text}'`,
                    });
                    relay(`${prefix} SYNC ${target.host.node}${text}\n`);
                  }
                  return of({ ...event, host: target.host });
                }),
                catchError((error: unknown) => {
                  if (config.failover === 'loose') {
                    config.log?.({
                      level: 'warn',
                      host: target.host,
                      message: String(error),
                      error,
                    });
                    return of<HostEvent>({
                      kind: 'exit',
                      host: target.host,
                      code: null,
                      signal: null,
                      error,
                    });
                  }
                  return throwError(
                    () =>
                      new OrgalorgError('failed to run sync command', {
                        code: 'sync',
                        host: target.host,
                        children: [error],
                      }),
                  );
                }),
              );
          }),
        );
      }),
    );
}

/**
 * The relays for one host's tool: held until its channel reads them (a channel may open after
 * the first SYNC), then passed on as they come, holding nothing.
 */
class RelayInput {
  private held: string[] | undefined = [];
  private readonly live = new Subject<string>();

  readonly lines = new Observable<string>((subscriber) => {
    const held = this.held ?? [];
    this.held = undefined;
    held.forEach((line) => subscriber.next(line));
    return this.live.subscribe(subscriber);
  });

  push(line: string): void {
    if (this.held) this.held.push(line);
    else this.live.next(line);
  }
}

/**
 * Cuts a tool's stdout into lines and picks out `<prefix> SYNC` lines; other output passes as
 * it came, and a last line without newline is kept (emitted when the tool exits).
 */
class SyncLines {
  private partial: Buffer[] = [];

  constructor(private readonly prefix: string) {}

  read(event: ExecEvent): (ExecEvent | { kind: 'sync'; text: string })[] {
    if (event.kind === 'stderr') return [event];
    if (event.kind === 'exit') {
      const rest = Buffer.concat(this.partial);
      this.partial = [];
      return rest.length > 0 ? [{ kind: 'stdout', data: rest }, event] : [event];
    }

    const out: (ExecEvent | { kind: 'sync'; text: string })[] = [];
    let start = 0;
    for (let end = event.data.indexOf(10); end !== -1; end = event.data.indexOf(10, start)) {
      const line = Buffer.concat([...this.partial, event.data.subarray(start, end + 1)]);
      this.partial = [];
      start = end + 1;
      const text = line.toString().replace(/\r?\n$/, '');
      const sync = text.startsWith(`${this.prefix} SYNC`)
        ? text.slice(this.prefix.length + 5)
        : undefined;
      if (sync !== undefined && (sync === '' || sync.startsWith(' '))) {
        out.push({ kind: 'sync', text: sync.trim() });
      } else {
        out.push({ kind: 'stdout', data: line });
      }
    }
    if (start < event.data.length) this.partial.push(event.data.subarray(start));
    return out;
  }
}
