import { lastValueFrom, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../../examples/canary.js';
import { withRetries } from '../../examples/retry.js';
import { firstMatch } from '../../examples/watch.js';
import { eventually, hostsRunning, useFleet } from './fixture.js';
import type { HostEvent, LogEntry } from '../../src/index.js';
import { hostExec, loadHosts, type TestHosts } from '../support/hosts.js';

let fleet: TestHosts;
const watchFleet = useFleet();

beforeAll(async () => {
  fleet = await loadHosts(process.env.ORGALORG_TEST_HOSTS_DIR);
});

const stdoutOf = (events: HostEvent[]) =>
  events
    .flatMap((event) => (event.kind === 'stdout' ? [event] : []))
    .map((event) => `${event.host.raw} ${event.data.toString().trim()}`)
    .sort();

describe('the canary example of the README', () => {
  it('should run on the first host, then on the rest', async () => {
    const events = await lastValueFrom(
      canary({
        hosts: fleet.addresses,
        user: fleet.user,
        key: fleet.key,
        command: 'echo ran',
      }).pipe(toArray()),
    );

    expect(stdoutOf(events)).toEqual(fleet.addresses.map((address) => `${address} ran`).sort());
    expect(events.find((event) => event.kind === 'stdout')?.host.raw).toBe(fleet.addresses[0]);
  });

  it('should not run on the rest when the canary fails', async () => {
    const flag = `/tmp/canary-flag-${process.pid}`;
    for (const index of [2, 3]) await hostExec(index, fleet.stateDir, ['touch', flag]);

    const seen: HostEvent[] = [];
    const run = canary({
      hosts: fleet.addresses,
      user: fleet.user,
      key: fleet.key,
      command: `test -e ${flag} && echo ran`,
    });
    await expect(
      new Promise<void>((resolve, reject) =>
        run.subscribe({ next: (event) => seen.push(event), error: reject, complete: resolve }),
      ),
    ).rejects.toMatchObject({ code: 'exec.cluster' });

    expect(seen.map((event) => event.host.raw)).toEqual([fleet.addresses[0]]);
    expect(stdoutOf(seen)).toEqual([]);
  });
});

describe('the watch example of the README', () => {
  it('should give the first matching line of any host, then stop tail on every host', async () => {
    const file = `/tmp/watch-${process.pid}.log`;
    for (const index of [1, 2, 3]) await hostExec(index, fleet.stateDir, ['touch', file]);

    const found = lastValueFrom(
      firstMatch({
        hosts: fleet.addresses,
        user: fleet.user,
        key: fleet.key,
        file,
        pattern: /ERROR/,
      }),
    );
    // Written once every tail follows the file, so the line is not missed.
    const tails = async () => (await hostsRunning(watchFleet, `tail -n 0 -F ${file}`)).length;
    await eventually('tail follows the file on every host', async () => (await tails()) === 3);
    await hostExec(2, fleet.stateDir, [
      'sh',
      '-c',
      `printf 'fine\\nERROR disk full\\n' >> ${file}`,
    ]);

    const line = await found;
    expect(line).toMatchObject({ stream: 'stdout', text: 'ERROR disk full' });
    expect(line.host.raw).toBe(fleet.addresses[1]);
    await eventually('no tail is left on any host', async () => (await tails()) === 0);
  });
});

describe('the retry example of the README', () => {
  it('should retry an unreachable host with back-off and run on the others', async () => {
    const logged: LogEntry[] = [];
    const events = await lastValueFrom(
      withRetries({
        hosts: [...fleet.addresses, '127.0.0.2:1'],
        user: fleet.user,
        key: fleet.key,
        command: 'echo ran',
        attempts: 3,
        log: (entry) => logged.push(entry),
      }).pipe(toArray()),
    );

    expect(stdoutOf(events)).toEqual(fleet.addresses.map((address) => `${address} ran`).sort());
    expect(logged.map((entry) => entry.message.replace(/: .*/, ''))).toEqual([
      'attempt 1',
      'attempt 2',
      'giving up on 127.0.0.2:1',
    ]);
  });
});
