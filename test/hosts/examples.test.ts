import { lastValueFrom, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../../examples/canary.js';
import type { HostEvent } from '../../src/index.js';
import { hostExec, loadHosts, type TestHosts } from '../support/hosts.js';

let fleet: TestHosts;

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
