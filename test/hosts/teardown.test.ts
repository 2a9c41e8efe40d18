// Stopping a run: a signal ends the remote commands on every host, with or without sudo.
import { describe, expect, it } from 'vitest';
import { eventually, hostsRunning, lockFree, startOrgalorg, useFleet } from './fixture.js';

const fleet = useFleet();

describe('teardown', () => {
  it.each([
    ['SIGINT', [], 'sleep 301', 130],
    ['SIGINT', ['-x'], 'sleep 302', 130],
    ['SIGTERM', [], 'sleep 303', 143],
    ['SIGTERM', ['-x'], 'sleep 304', 143],
    ['SIGINT', ['-y'], 'sleep 305', 130],
    ['SIGTERM', ['-y', '-x'], 'sleep 306', 143],
  ] as const)(
    'should stop the remote command on %s (extra flags %j) and leave nothing running',
    async (signal, flags, command, status) => {
      const run = startOrgalorg(fleet, [...fleet.all, ...flags, '-C', command]);
      await eventually(`'${command}' runs on every host`, async () => {
        return (await hostsRunning(fleet, command)).length === 3;
      });

      const sent = Date.now();
      run.child.kill(signal);
      const result = await run.result;
      expect(Date.now() - sent).toBeLessThan(5000);
      expect(result.stdout).toBe('');
      expect(result.code).toBe(status);
      expect(await hostsRunning(fleet, command)).toEqual([]);
      for (const index of [1, 2, 3]) expect(await lockFree(fleet, index)).toBe(true);
    },
  );
});
