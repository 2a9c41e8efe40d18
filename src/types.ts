/** One target host, as parsed from `-o`, a hosts file or stdin. */
export interface HostSpec {
  /** The host as typed (trimmed): the text output prefix and the JSON `host` field. */
  readonly raw: string;
  readonly user: string;
  /** Host name or address as typed, IPv6 without brackets. */
  readonly address: string;
  readonly port: number;
  /** `[user@address:port]`, the node name of logs and of the sync protocol. */
  readonly node: string;
}

/** What happened on one host while a remote command ran. */
export type ExecEvent =
  | {
      readonly kind: 'stdout' | 'stderr';
      readonly data: Buffer;
      /** Which of our remote helpers wrote it (`tar`), shown as `{tar} ` before each line. */
      readonly tag?: string;
    }
  | {
      readonly kind: 'exit';
      /** The remote exit status; null when the host sent none (killed, connection lost). */
      readonly code: number | null;
      readonly signal: string | null;
      /** Why the command did not finish normally, such as a lost connection. */
      readonly error?: unknown;
    };

/** A sync tool announced a step: `<prefix> SYNC <text>` (see `syncProtocol`). */
export interface SyncEvent {
  readonly kind: 'sync';
  readonly text: string;
}

/** An {@link ExecEvent} or {@link SyncEvent} tagged with the host it came from. */
export type HostEvent = (ExecEvent | SyncEvent) & { readonly host: HostSpec };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** A diagnostic from the library; only sinks and the CLI turn it into text. */
export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly host?: HostSpec;
  readonly error?: unknown;
}

export type LogHook = (entry: LogEntry) => void;
