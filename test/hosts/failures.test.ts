// Commands that fail on the hosts: exit status 1 and one `code N (M nodes)` per exit code.
import { describe, expect, it } from 'vitest';
import { leaf, logLines, onHost, orgalorg, perHost, sortLines, useFleet } from './fixture.js';

const fleet = useFleet();
const FAILED =
  '[FATAL] remote execution failed, because one of command has been exited with non-zero exit code (or timed out) at least on one node';
const node = (index: number) => `[orgalorg@127.20.0.${index}:22]`;

/** Writes the exit code each host's `exit $(cat /tmp/exit-code)` will use. */
async function exitCodes(codes: number[]): Promise<void> {
  for (const [at, code] of codes.entries()) {
    await onHost(fleet, at + 1, ['sh', '-c', `echo ${code} > /tmp/exit-code`]);
  }
}

describe('failures', () => {
  it('should exit 1 and report the code when the command fails on every host', async () => {
    const result = await orgalorg(fleet, [...fleet.all, '-C', 'exit', '17']);
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines.slice(0, 3)).toEqual([
      FAILED,
      '└─ commands are failed on all 3 nodes',
      '   └─ code 17 (3 nodes)',
    ]);
    // One child per node, in the order they finished.
    expect(lines.slice(3).map(leaf).sort()).toEqual([node(1), node(2), node(3)]);
    expect(lines.slice(3).map((line) => line.slice(0, 9))).toEqual([
      '      ├─ ',
      '      ├─ ',
      '      └─ ',
    ]);
    expect(result.code).toBe(1);
  });

  it('should report one line per exit code when hosts fail differently', async () => {
    await exitCodes([3, 5, 3]);
    const result = await orgalorg(fleet, [
      ...fleet.all,
      '-C',
      '--',
      'echo done; exit $(cat /tmp/exit-code)',
    ]);
    expect(sortLines(result.stdout)).toBe(perHost(fleet.addresses, 'done'));
    const lines = logLines(result.stderr);
    expect(lines[0]).toBe(FAILED);
    expect(lines[1]).toBe('└─ commands are failed on all 3 nodes');
    const codes = lines.filter((line) => /code \d+ \(/.test(line)).map(leaf);
    expect(codes.sort()).toEqual(['code 3 (2 nodes)', 'code 5 (1 nodes)']);
    expect(result.code).toBe(1);
  });

  it('should say how many hosts failed when others succeeded', async () => {
    await exitCodes([0, 4, 0]);
    const result = await orgalorg(fleet, [...fleet.all, '-C', '--', 'exit $(cat /tmp/exit-code)']);
    const lines = logLines(result.stderr);
    expect(lines).toEqual([
      FAILED,
      '└─ commands are failed on 1 out of 3 nodes',
      '   └─ code 4 (1 nodes)',
      `      └─ ${node(2)}`,
    ]);
    expect(result.code).toBe(1);
  });
});
