// The cluster lock: -L holds it until a signal, others are refused, -y and -t, lost heartbeats.
import { describe, expect, it } from 'vitest';
import {
  leaf,
  lockFree,
  logLines,
  orgalorg,
  perHost,
  processes,
  sortLines,
  startOrgalorg,
  useFleet,
} from './fixture.js';

const fleet = useFleet();
const WAITING = '-L|--lock was passed, waiting for interrupt...';
const HELD = "can't acquire lock, lock already obtained by another process or unavailable";
const node = (index: number) => `[orgalorg@127.20.0.${index}:22]`;

/** Starts `-L` on every host and waits until it holds the locks. */
async function holdLock(...args: string[]) {
  const run = startOrgalorg(fleet, [...fleet.all, ...args, '-L']);
  await run.waitForStderr(WAITING);
  return run;
}

async function freeOn(): Promise<number[]> {
  const free: number[] = [];
  for (const index of [1, 2, 3]) if (await lockFree(fleet, index)) free.push(index);
  return free;
}

describe('lock', () => {
  it('should hold the lock until SIGINT, refuse a second -L meanwhile, then release it', async () => {
    const holder = await holdLock();
    expect(await freeOn()).toEqual([]);

    const second = await orgalorg(fleet, [...fleet.all, '-L']);
    const lines = logLines(second.stderr);
    expect(lines[0]).toBe('[FATAL] connecting to cluster failed');
    expect(lines[1]).toBe('└─ lock on 3 of 3 nodes failed');
    expect(
      lines
        .filter((line) => line.includes(HELD))
        .map(leaf)
        .sort(),
    ).toEqual([1, 2, 3].map((index) => `${node(index)} ${HELD}`));
    expect(second.stderr).not.toContain(WAITING);
    expect(second.code).toBe(1);

    const sent = Date.now();
    holder.child.kill('SIGINT');
    const result = await holder.result;
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(result.stdout).toBe('');
    expect(logLines(result.stderr)[0]).toBe(`[WARN] ${WAITING}`);
    expect(result.code).toBe(130);
    expect(await freeOn()).toEqual([1, 2, 3]);
  });

  it('should exit 143 on SIGTERM and release the lock', async () => {
    const holder = await holdLock();
    holder.child.kill('SIGTERM');
    const result = await holder.result;
    expect(result.code).toBe(143);
    expect(await freeOn()).toEqual([1, 2, 3]);
  });

  it('should run without locking with -y while another run holds the lock', async () => {
    const holder = await holdLock();
    const result = await orgalorg(fleet, [...fleet.all, '-y', '-C', 'echo', 'unlocked']);
    expect(result.stderr).toBe('');
    expect(sortLines(result.stdout)).toBe(perHost(fleet.addresses, 'unlocked'));
    expect(result.code).toBe(0);
    expect(await freeOn()).toEqual([]);
    holder.child.kill('SIGINT');
    expect((await holder.result).code).toBe(130);
  });

  it('should go on with a warning per host with -t while another run holds the lock', async () => {
    const holder = await holdLock();
    const result = await orgalorg(fleet, [...fleet.all, '-t', '-C', 'echo', 'anyway']);
    expect(sortLines(result.stdout)).toBe(perHost(fleet.addresses, 'anyway'));
    expect(logLines(result.stderr).sort()).toEqual(
      [1, 2, 3].map((index) => `[WARN] ${node(index)} ${HELD}`),
    );
    expect(result.code).toBe(0);
    holder.child.kill('SIGINT');
    expect((await holder.result).code).toBe(130);
  });

  it('should exit 2 naming the host whose lock process died, and release the others', async () => {
    const holder = await holdLock('--send-timeout=2000');
    const flocks = (await processes(fleet, 1)).filter((p) => p.cmdline.includes('flock'));
    expect(flocks.length).toBeGreaterThan(0);
    for (const { pid } of flocks) process.kill(pid, 'SIGKILL');

    const result = await holder.result;
    const errors = logLines(result.stderr).filter((line) => line.startsWith('[ERROR]'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[ERROR\] \[orgalorg@127\.20\.0\.1:22\] heartbeat /);
    expect(result.code).toBe(2);
    expect(await freeOn()).toEqual([1, 2, 3]);
  });
});
