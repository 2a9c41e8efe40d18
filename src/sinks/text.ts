import type { Writable } from 'node:stream';
import { merge } from 'rxjs';
import { chunkSink, Output, prefixLines, type Sink } from './output.js';

export interface TextConfig {
  readonly stdout?: Writable;
  readonly stderr?: Writable;
}

/**
 * Writes each host's output as `<host> <line>`, host as typed, stdout to stdout and stderr to
 * stderr; a partial last line gets a newline. Lines of different hosts never mix.
 *
 * @example
 * connected.pipe(exec('echo -n hello')).subscribe(toText());
 * // web1 hello
 * // web2 hello
 */
export function toText(config: TextConfig = {}): Sink {
  const out = {
    stdout: new Output(config.stdout ?? process.stdout),
    stderr: new Output(config.stderr ?? process.stderr),
  };
  const newline = Buffer.from('\n');
  // Made once per host, not once per chunk: this is the hot path of big outputs.
  const prefixes = new Map<string, Buffer>();
  const prefixOf = (raw: string) => {
    let prefix = prefixes.get(raw);
    if (prefix === undefined) prefixes.set(raw, (prefix = Buffer.from(`${raw} `)));
    return prefix;
  };
  return chunkSink(
    ({ stream, host, pieces, final }) => {
      const lines = final ? [...pieces, newline] : pieces;
      out[stream].write(prefixLines(prefixOf(host.raw), lines));
    },
    merge(out.stdout.paused, out.stderr.paused),
  );
}
