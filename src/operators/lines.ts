import { StringDecoder } from 'node:string_decoder';
import { mergeMap, Observable, type OperatorFunction } from 'rxjs';
import type { HostEvent, HostSpec } from '../types.js';

/** One line of a host's output, without its newline. */
export interface LineInfo {
  readonly host: HostSpec;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/**
 * Cuts the output events of many hosts into lines, per host and stream: emits each line once
 * it is complete, and a last line without newline when its host exits. Other events are dropped.
 *
 * Completes and errors with the source; unsubscribing drops partial lines held.
 *
 * @example
 * connected.pipe(exec('tail -F /var/log/syslog'), lines(), filter((l) => /error/.test(l.text)));
 */
export function lines(): OperatorFunction<HostEvent, LineInfo> {
  return (source) =>
    new Observable<LineInfo>((subscriber) => {
      const partial = new Map<string, string>();
      // Per stream, so a character split between two chunks is decoded whole.
      const decoders = new Map<string, StringDecoder>();
      const cut = (host: HostSpec, stream: 'stdout' | 'stderr', data: Buffer, final: boolean) => {
        const key = `${stream} ${host.node}`;
        let decoder = decoders.get(key);
        if (decoder === undefined) decoders.set(key, (decoder = new StringDecoder('utf8')));
        const text = final ? decoder.end(data) : decoder.write(data);
        if (final) decoders.delete(key);
        const parts = ((partial.get(key) ?? '') + text).split('\n');
        const rest = parts.pop() ?? '';
        partial.delete(key);
        if (final && rest !== '') parts.push(rest);
        else if (rest !== '') partial.set(key, rest);
        return parts.map((line) => ({ host, stream, text: line.replace(/\r$/, '') }));
      };
      return source
        .pipe(
          mergeMap((event): LineInfo[] => {
            if (event.kind === 'stdout' || event.kind === 'stderr') {
              return cut(event.host, event.kind, event.data, false);
            }
            if (event.kind !== 'exit') return [];
            const none = Buffer.alloc(0);
            return [
              ...cut(event.host, 'stdout', none, true),
              ...cut(event.host, 'stderr', none, true),
            ];
          }),
        )
        .subscribe(subscriber);
    });
}
