import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { concatMap, defer, distinct, from, map, Observable, type ObservableInput } from 'rxjs';
import split2 from 'split2';
import { fileProblem, OrgalorgError } from '../errors.js';
import type { HostSpec } from '../types.js';
import { hostKey, parseHost, type ParseHostConfig } from './parse-host.js';

export type HostsConfig = ParseHostConfig;

/**
 * Emits a {@link HostSpec} per host text, in order, each host once (the first spec of a
 * user, address and port wins).
 *
 * Errors with code `hosts.parse` on the first text that is not a host; completes after the last.
 *
 * @example
 * hosts(['web1', 'deploy@web2:2222'], { user: 'root' }).subscribe((h) => console.log(h.node));
 * // [root@web1:22]
 * // [deploy@web2:2222]
 */
export function hosts(texts: ObservableInput<string>, config: HostsConfig): Observable<HostSpec> {
  return from(texts).pipe(
    map((text) => parseHost(text, config)),
    distinct(hostKey),
  );
}

/**
 * Emits the lines of a hosts file or stream that name a host: blank lines and `#` comments
 * are skipped, spaces trimmed, CRLF accepted.
 *
 * Errors with code `hosts.file` naming the path and the reason when the file cannot be read.
 */
export function hostLines(input: string | Readable): Observable<string> {
  const label = typeof input === 'string' ? `hosts file '${input}'` : 'hosts on stdin';
  return defer(
    () =>
      new Observable<string>((subscriber) => {
        const stream = typeof input === 'string' ? createReadStream(input) : input;
        const lines = stream.pipe(split2(/\r?\n/));
        const fail = (error: NodeJS.ErrnoException) => {
          subscriber.error(
            new OrgalorgError(`can't open ${label}: ${fileProblem(error)}`, {
              code: 'hosts.file',
              cause: error,
            }),
          );
        };
        stream.on('error', fail);
        lines.on('data', (line: string) => {
          const host = line.replace(/#.*/, '').trim();
          if (host !== '') subscriber.next(host);
        });
        lines.on('end', () => subscriber.complete());
        return () => {
          stream.off('error', fail);
          if (typeof input === 'string') stream.destroy();
        };
      }),
  );
}

/** True when an `-o` value names a hosts file rather than a host, as orgalorg decides it. */
export function isHostsFile(value: string): boolean {
  return value.startsWith('/') || value.startsWith('./');
}

/**
 * The hosts of a command line: stdin lines first (when `stdin` is given), then each `-o` value
 * in order, where a value starting with `/` or `./` is a hosts file.
 */
export function hostArgs(
  values: readonly string[],
  config: HostsConfig & { readonly stdin?: Readable },
): Observable<HostSpec> {
  const parsed = (texts: Observable<string>, origin: string | undefined) =>
    texts.pipe(map((text) => parseHost(text, { ...config, origin })));
  return from([
    ...(config.stdin === undefined ? [] : [parsed(hostLines(config.stdin), 'hosts on stdin')]),
    ...values.map((value) =>
      isHostsFile(value)
        ? parsed(hostLines(value), `hosts file '${value}'`)
        : parsed(from([value]), undefined),
    ),
  ]).pipe(
    concatMap((source) => source),
    distinct(hostKey),
  );
}
