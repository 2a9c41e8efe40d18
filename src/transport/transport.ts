import type { Readable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { ExecEvent, HostSpec } from '../types.js';

/** How a remote command gets its stdin. */
export type CommandInput = Readable | Observable<string | Buffer>;

export interface RunConfig {
  /** Bytes for the command's stdin; without it stdin is empty (EOF at once). */
  readonly stdin?: CommandInput;
  /** Ask for a pseudo-terminal (stderr then merges into stdout). */
  readonly tty?: boolean;
  /** The command runs under `sudo`, so stopping it needs `sudo` too. */
  readonly sudo?: boolean;
  /** While this emits `true`, reading the command's output pauses (backpressure). */
  readonly paused?: Observable<boolean>;
}

/** One live connection to one host: the only thing operators know of SSH. */
export interface Connection {
  readonly host: HostSpec;
  /**
   * Runs a shell command line (as `ssh host 'command'` would) when subscribed. Emits its output
   * and then one `exit` event, then completes; errors when the connection is lost. Unsubscribing
   * before the exit stops the command and everything it started on the host.
   */
  run(command: string, config?: RunConfig): Observable<ExecEvent>;
  /** Stops what still runs, then closes the connection. Resolves when it is closed. */
  close(): Promise<void>;
}

/** Opens connections; a fake one drives the marble tests, ssh2 the real runs. */
export interface Transport {
  /**
   * Emits one {@link Connection} and completes, or errors naming why the host is unreachable.
   * Unsubscribing while connecting aborts the attempt; the emitted connection belongs to the
   * subscriber, who closes it.
   */
  connect(host: HostSpec): Observable<Connection>;
}
