import type { Writable } from 'node:stream';
import { merge } from 'rxjs';
import { chunkSink, Output, type Sink } from './output.js';

export interface RawConfig {
  readonly stdout?: Writable;
  readonly stderr?: Writable;
}

/**
 * Writes each host's output byte for byte (`-q`): no prefix, no newline added. Whole lines are
 * still written at once, so lines of different hosts never mix.
 *
 * @example
 * connected.pipe(exec('echo -n hello')).subscribe(toRaw());
 * // hellohello
 */
export function toRaw(config: RawConfig = {}): Sink {
  const out = {
    stdout: new Output(config.stdout ?? process.stdout),
    stderr: new Output(config.stderr ?? process.stderr),
  };
  return chunkSink(
    ({ stream, pieces }) => out[stream].write(pieces),
    merge(out.stdout.paused, out.stderr.paused),
  );
}
