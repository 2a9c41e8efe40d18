import type { Writable } from 'node:stream';
import { merge } from 'rxjs';
import { chunkSink, Output, type Sink } from './output.js';

export interface JsonConfig {
  readonly stdout?: Writable;
  readonly stderr?: Writable;
}

/** JSON the way orgalorg's Go encoder writes it: `<`, `>` and `&` escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/**
 * Writes one JSON object per output chunk (`--json`), on the stream the chunk came from:
 * `{"body":"...","host":"<as typed>","node":"[user@host:port]","stream":"stdout"}`. A chunk is
 * one or more whole lines, or a final partial line, body kept as is (bytes that are not UTF-8
 * become U+FFFD).
 */
export function toJson(config: JsonConfig = {}): Sink {
  const out = {
    stdout: new Output(config.stdout ?? process.stdout),
    stderr: new Output(config.stderr ?? process.stderr),
  };
  return chunkSink(
    ({ stream, host, pieces }) => {
      const record = {
        body: Buffer.concat(pieces).toString(),
        host: host.raw,
        node: host.node,
        stream,
      };
      out[stream].write(`${goJson(record)}\n`);
    },
    merge(out.stdout.paused, out.stderr.paused),
  );
}
