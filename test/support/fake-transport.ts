// A Transport for marble tests: every host and command is scripted with observables, so all of
// its time is the TestScheduler's. It records what ran, what was written to stdin, and which runs
// were stopped (unsubscribed before they ended), for tests to assert on.
import {
  fromEvent,
  isObservable,
  map,
  Observable,
  of,
  ReplaySubject,
  Subject,
  type SchedulerLike,
} from 'rxjs';
import type { ConnectedHost } from '../../src/host.js';
import type { Session } from '../../src/session.js';
import { parseHost } from '../../src/sources/parse-host.js';
import type {
  CommandInput,
  Connection,
  RunConfig,
  Transport,
} from '../../src/transport/transport.js';
import type { ExecEvent, HostSpec } from '../../src/types.js';

/** How one host behaves. */
export interface FakeHostScript {
  /** Emits (any value) once connected, or errors; without it the host connects at once. */
  readonly connect?: Observable<unknown>;
  /** The commands it knows; the first whose `match` accepts the command text runs. */
  readonly commands?: readonly FakeCommand[];
}

export interface FakeCommand {
  readonly match: (command: string) => boolean;
  /** The command's events, or a function of its stdin text (for an echo like the lock's `cat`). */
  readonly events: Observable<ExecEvent> | ((stdin: Observable<string>) => Observable<ExecEvent>);
}

/** One command that ran on a fake host. */
export interface FakeRun {
  readonly host: HostSpec;
  readonly command: string;
  readonly config: RunConfig | undefined;
  readonly startedAt: number;
  /** The frame at which it was unsubscribed before it ended: the remote command was stopped. */
  stoppedAt: number | undefined;
}

/** A host spec as the CLI would parse `name` with user `root`: node `[root@name:22]`. */
export function testHost(name: string): HostSpec {
  return parseHost(name, { user: 'root' });
}

export const stdout = (text: string): ExecEvent => ({ kind: 'stdout', data: Buffer.from(text) });
export const stderr = (text: string): ExecEvent => ({ kind: 'stderr', data: Buffer.from(text) });
export const exit = (code: number | null, signal: string | null = null): ExecEvent => ({
  kind: 'exit',
  code,
  signal,
});

export class FakeTransport implements Transport {
  /** Every command run on any host, in the order they started. */
  readonly runs: FakeRun[] = [];
  private readonly connections = new Map<string, FakeConnection>();
  private readonly written = new Map<string, Subject<string>>();

  /**
   * @param scheduler the clock of the recorded frames (the TestScheduler).
   * @param scripts each host's script, by the host's `raw` text.
   */
  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly scripts: Readonly<Record<string, FakeHostScript>> = {},
  ) {}

  connect(host: HostSpec): Observable<Connection> {
    const outcome = this.scripts[host.raw]?.connect ?? of(true);
    return outcome.pipe(map(() => this.connection(host)));
  }

  /** The one connection of that host (the same object on every connect). */
  connection(host: HostSpec): FakeConnection {
    let connection = this.connections.get(host.raw);
    if (connection === undefined) {
      connection = new FakeConnection(host, this);
      this.connections.set(host.raw, connection);
    }
    return connection;
  }

  /** A host as `connect` emits it, for tests of the stages after it. */
  connected(host: HostSpec, session: Session): ConnectedHost {
    return { host, connection: this.connection(host), session };
  }

  /** Hot: each chunk any command on that host reads from its stdin, as text. */
  stdin(host: HostSpec): Observable<string> {
    return this.writes(host).asObservable();
  }

  /** @internal the frame now, for the connections' records. */
  now(): number {
    return this.scheduler.now();
  }

  /** @internal */
  writes(host: HostSpec): Subject<string> {
    let writes = this.written.get(host.raw);
    if (writes === undefined) {
      writes = new Subject<string>();
      this.written.set(host.raw, writes);
    }
    return writes;
  }

  /** @internal the scripted events of one command. */
  events(host: HostSpec, command: string, stdin: Observable<string>): Observable<ExecEvent> {
    const script = this.scripts[host.raw]?.commands?.find((candidate) => candidate.match(command));
    if (script === undefined) {
      return new Observable((subscriber) =>
        subscriber.error(new Error(`fake transport: no script for '${command}' on ${host.node}`)),
      );
    }
    return isObservable(script.events) ? script.events : script.events(stdin);
  }
}

export class FakeConnection implements Connection {
  /** The frame at which `close` was called, if it was. */
  closedAt: number | undefined;

  constructor(
    readonly host: HostSpec,
    private readonly transport: FakeTransport,
  ) {}

  run(command: string, config?: RunConfig): Observable<ExecEvent> {
    return new Observable<ExecEvent>((subscriber) => {
      const record: FakeRun = {
        host: this.host,
        command,
        config,
        startedAt: this.transport.now(),
        stoppedAt: undefined,
      };
      this.transport.runs.push(record);
      let ended = false;

      // Stdin is read from the start, as a remote `cat` would be; an echoing script that
      // subscribes later still sees every chunk.
      const input = new ReplaySubject<string>();
      const writes = this.transport.writes(this.host);
      const reading = config?.stdin
        ? asObservable(config.stdin).subscribe((chunk) => {
            const text = chunk.toString();
            writes.next(text);
            input.next(text);
          })
        : undefined;

      const subscription = this.transport.events(this.host, command, input).subscribe({
        next: (event) => subscriber.next(event),
        error: (error: unknown) => {
          ended = true;
          subscriber.error(error);
        },
        complete: () => {
          ended = true;
          subscriber.complete();
        },
      });

      return () => {
        if (!ended) record.stoppedAt = this.transport.now();
        reading?.unsubscribe();
        subscription.unsubscribe();
      };
    });
  }

  close(): Promise<void> {
    this.closedAt ??= this.transport.now();
    return Promise.resolve();
  }
}

function asObservable(input: CommandInput): Observable<string | Buffer> {
  return isObservable(input) ? input : fromEvent(input, 'data', (chunk: string | Buffer) => chunk);
}
