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

  write(data: Buffer | string | readonly Buffer[]): void {
    if (typeof data === 'string' || Buffer.isBuffer(data)) return this.writeOne(data);
    // Many small pieces become one write; a few big ones are written as they are.
    if (data.length > 8) this.writeOne(Buffer.concat(data));
    else data.forEach((piece) => this.writeOne(piece));
  }

  private writeOne(data: Buffer | string): void {
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

  /**
   * The complete lines this chunk finishes, as pieces in order (only the last piece holds
   * newlines, and it ends with one), or undefined when it finishes none.
   */
  take(key: string, data: Buffer): Buffer[] | undefined {
    const newline = data.lastIndexOf(10);
    const held = this.pending.get(key);
    if (newline === -1) {
      if (held) held.push(data);
      else this.pending.set(key, [data]);
      return undefined;
    }
    const head = data.subarray(0, newline + 1);
    if (newline + 1 < data.length) this.pending.set(key, [data.subarray(newline + 1)]);
    else this.pending.delete(key);
    return held ? [...held, head] : [head];
  }

  /** The pieces of the partial last line of that key, if any, and forgets them. */
  flush(key: string): Buffer[] | undefined {
    const held = this.pending.get(key);
    this.pending.delete(key);
    return held;
  }

  /** Every key that holds a partial line. */
  keys(): string[] {
    return [...this.pending.keys()];
  }
}

/**
 * Puts `prefix` before every line of the pieces (as {@link LineBuffer} returns them): the pieces
 * are written as they are, with the prefix between, so a long line is never copied.
 */
export function prefixLines(prefix: Buffer, pieces: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [prefix];
  pieces.forEach((piece, index) => {
    const last = index === pieces.length - 1;
    let start = 0;
    for (let end = piece.indexOf(10); end !== -1; end = piece.indexOf(10, start)) {
      out.push(piece.subarray(start, end + 1));
      start = end + 1;
      if (start < piece.length || !last) out.push(prefix);
    }
    if (start < piece.length) out.push(piece.subarray(start));
  });
  return out;
}

export function streamKey(event: HostEvent & { kind: 'stdout' | 'stderr' }): string {
  return `${event.kind} ${event.host.node}${event.tag === undefined ? '' : ` {${event.tag}}`}`;
}

/** Lines of one of our remote helpers (`tar`) start with `{tar} `. */
function tagged(tag: string | undefined, pieces: Buffer[]): Buffer[] {
  return tag === undefined ? pieces : prefixLines(Buffer.from(`{${tag}} `), pieces);
}

/** A piece of one host's output: whole lines, or its partial last line when `final`. */
export interface ChunkInfo {
  readonly stream: 'stdout' | 'stderr';
  readonly host: HostEvent['host'];
  /** The bytes, in pieces; only the last can hold newlines. */
  readonly pieces: readonly Buffer[];
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
    for (const key of buffer.keys()) {
      if (key !== `${stream} ${host.node}` && !key.startsWith(`${stream} ${host.node} {`)) continue;
      const pieces = buffer.flush(key) ?? [];
      const tag = /\{(.*)\}$/.exec(key)?.[1];
      render({ stream, host, pieces: tagged(tag, pieces), final: true });
    }
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
      if (event.kind === 'sync') return;
      if (event.kind === 'exit') {
        flush('stdout', event.host);
        flush('stderr', event.host);
        hosts.delete(event.host.node);
        return;
      }
      hosts.set(event.host.node, event.host);
      const pieces = buffer.take(streamKey(event), event.data);
      if (pieces) {
        render({
          stream: event.kind,
          host: event.host,
          pieces: tagged(event.tag, pieces),
          final: false,
        });
      }
    },
    error: flushAll,
    complete: flushAll,
  };
}
