import { EMPTY, from, map, mergeMap, toArray, type Observable, type OperatorFunction } from 'rxjs';
import type { ConnectedHost } from '../host.js';
import { remoteCommand, shellQuote } from '../transport/remote-command.js';
import type { CommandInput } from '../transport/transport.js';
import type { HostEvent, LogHook } from '../types.js';
import { exec } from './exec.js';

export interface UploadConfig {
  /**
   * Makes the copies of the one archive stream, one per host, given the number of hosts; called
   * once, when every host has arrived (`fanOut(packArchive(entries), count)` in the CLI).
   */
  readonly archive: (count: number) => readonly CommandInput[];
  /** Where the archive is unpacked on every host (created if missing). */
  readonly directory: string;
  /** Unpack under sudo (`-x`). */
  readonly sudo?: boolean;
  /** Have tar list what it unpacks (shown as `{tar} name`). */
  readonly verbose?: boolean;
  readonly paused?: Observable<boolean>;
  readonly log?: LogHook;
}

/**
 * Streams one tar archive to every host and unpacks it into `directory` there, at the pace of
 * the slowest host. Waits for every host first (a join), then emits the receivers' output
 * (tagged `tar`) and one `exit` per host; pipe it into {@link expectSuccess} to fail the run
 * when a host did not unpack everything. Unsubscribing stops every receiver.
 *
 * @example
 * connected.pipe(upload({ archive: (n) => fanOut(packArchive(entries), n), directory: '/srv' }));
 */
export function upload(config: UploadConfig): OperatorFunction<ConnectedHost, HostEvent> {
  const directory = shellQuote(config.directory);
  const receiver = remoteCommand(
    [
      `mkdir -p ${directory} && tar --directory ${directory} -xp${config.verbose === true ? 'v' : ''}`,
    ],
    { shell: "bash -c '{}'", sudo: config.sudo },
  );
  return (source) =>
    source.pipe(
      toArray(),
      mergeMap((hosts) => {
        if (hosts.length === 0) return EMPTY;
        const copies = config.archive(hosts.length);
        config.log?.({
          level: 'debug',
          message: `file upload started into: '${config.directory}'`,
        });
        return from(hosts).pipe(
          exec({
            command: receiver,
            stdin: (_target, index) => copies[index],
            sudo: config.sudo,
            paused: config.paused,
            log: config.log,
          }),
          map((event): HostEvent =>
            event.kind === 'stdout' || event.kind === 'stderr' ? { ...event, tag: 'tar' } : event,
          ),
        );
      }),
    );
}
