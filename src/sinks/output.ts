import type { Writable } from 'node:stream';
import { BehaviorSubject, distinctUntilChanged, type Observable, type Observer } from 'rxjs';
import type { HostEvent } from '../types.js';

/** An observer of host events that writes somewhere and can ask the hosts to slow down. */
export interface Sink extends Observer<HostEvent> {
  /** Emits `true` while the output is congested: pass it to `exec` as `paused`. */
  readonly paused: Observable<boolean>;
}

/** Writes to a stream and reports whether its buffer is full (backpressure). */
export class Output {
  private readonly congested = new BehaviorSubject(false);
  readonly paused: Observable<boolean> = this.congested.pipe(distinctUntilChanged());

  constructor(private readonly stream: Writable) {
    stream.on('drain', () => this.congested.next(false));
  }

  write(data: Buffer | string): void {
    if (data.length === 0) return;
    if (!this.stream.write(data)) this.congested.next(true);
  }
}

/**
 * Cuts each host's output into whole lines, per host and stream: what {@link LineBuffer.take}
 * returns always ends with a newline, and {@link LineBuffer.flush} returns the partial last line
 * when the host is done. Pieces are kept in a list, so a long line costs no repeated copying.
 */
export class LineBuffer {
  private readonly pending = new Map<string, Buffer[]>();

  /** The complete lines this chunk finishes, or undefined when it finishes none. */
  take(key: string, data: Buffer): Buffer | undefined {
    const newline = data.lastIndexOf(10);
    const held = this.pending.get(key);
    if (newline === -1) {
      if (held) held.push(data);
      else this.pending.set(key, [data]);
      return undefined;
    }
    const head = data.subarray(0, newline + 1);
    const complete = held ? Buffer.concat([...held, head]) : head;
    if (newline + 1 < data.length) this.pending.set(key, [data.subarray(newline + 1)]);
    else this.pending.delete(key);
    return complete;
  }

  /** The partial last line of that key, if any, and forgets it. */
  flush(key: string): Buffer | undefined {
    const held = this.pending.get(key);
    this.pending.delete(key);
    return held ? Buffer.concat(held) : undefined;
  }

  /** Every key that holds a partial line. */
  keys(): string[] {
    return [...this.pending.keys()];
  }
}

/** Splits whole lines (ending with a newline) and puts `prefix` before each. */
export function prefixLines(prefix: Buffer, lines: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let start = 0;
  while (start < lines.length) {
    const end = lines.indexOf(10, start);
    const stop = end === -1 ? lines.length : end + 1;
    pieces.push(prefix, lines.subarray(start, stop));
    start = stop;
  }
  return Buffer.concat(pieces);
}

export function streamKey(event: HostEvent & { kind: 'stdout' | 'stderr' }): string {
  return `${event.kind} ${event.host.node}`;
}

/** A piece of one host's output: whole lines, or its partial last line when `final`. */
export interface ChunkInfo {
  readonly stream: 'stdout' | 'stderr';
  readonly host: HostEvent['host'];
  readonly chunk: Buffer;
  readonly final: boolean;
}

/**
 * The machinery the output sinks share: line-buffers each host's streams and hands complete
 * lines, then the partial last line once the host exits (or the run ends), to `render`.
 */
export function chunkSink(render: (info: ChunkInfo) => void, paused: Observable<boolean>): Sink {
  const buffer = new LineBuffer();
  const hosts = new Map<string, HostEvent['host']>();
  const flush = (stream: 'stdout' | 'stderr', host: HostEvent['host']) => {
    const chunk = buffer.flush(`${stream} ${host.node}`);
    if (chunk) render({ stream, host, chunk, final: true });
  };
  const flushAll = () => {
    for (const host of hosts.values()) {
      flush('stdout', host);
      flush('stderr', host);
    }
  };
  return {
    paused,
    next: (event) => {
      if (event.kind === 'exit') {
        flush('stdout', event.host);
        flush('stderr', event.host);
        hosts.delete(event.host.node);
        return;
      }
      hosts.set(event.host.node, event.host);
      const chunk = buffer.take(streamKey(event), event.data);
      if (chunk) render({ stream: event.kind, host: event.host, chunk, final: false });
    },
    error: flushAll,
    complete: flushAll,
  };
}
