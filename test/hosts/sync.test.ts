// -S: where the sync tool runs and what it is given (-g words, -m with -i, --no-upload), the sync
// protocol between the tools on every host (and the library's barrier, examples/barrier.ts),
// the tool's output and its failures.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phases } from '../../examples/barrier.js';
import { hostExec, loadHosts } from '../support/hosts.js';
import { leaf, logLines, onHost, orgalorg, perHost, sortLines, useFleet } from './fixture.js';

const fleet = useFleet();
const INDEXES = [1, 2, 3];
const node = (index: number) => `[orgalorg@127.20.0.${index}:22]`;
const NODES = INDEXES.map(node).sort();

// The default sync tool (-n '/usr/lib/orgalorg/sync "$@"'), installed on every host: it speaks
// orgalorg's protocol in two phases and reports how many nodes it was told about and which
// nodes' SYNC lines were relayed to it.
const TOOL = '/usr/lib/orgalorg/sync';
const TOOL_SCRIPT = `#!/bin/bash
step=\${1:-phase1}
read -r hello
prefix=\${hello% HELLO}
nodes=0
while read -r line && [ "$line" != "$prefix START" ]; do
  case $line in "NODE "*) nodes=$((nodes + 1)) ;; esac
done
echo "PHASE 1"
printf -v pause '0.%03d' $((RANDOM % 1000))
sleep "$pause"
echo "$prefix SYNC $step"
seen=
for ((i = 0; i < nodes; i++)); do
  read -r head sync from text
  if [ "$head $sync" = "$prefix SYNC" ] && [ "$text" = "$step" ]; then seen="$seen $from"; fi
done
echo "PHASE 2"
echo "relays $nodes:" $(printf '%s\\n' $seen | sort)
`;

const locals: string[] = [];
const remotes: string[] = [];

function workdir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orgalorg-sync-'));
  locals.push(dir);
  return dir;
}

/** A remote directory no other test uses, removed from every host after the file. */
function remote(what: string): string {
  const dir = `/tmp/orgalorg-sync-${process.pid}-${remotes.length}-${what}`;
  remotes.push(dir);
  return dir;
}

beforeAll(async () => {
  const install = `mkdir -p ${path.dirname(TOOL)} && printf '%s' "$1" > ${TOOL} && chmod 755 ${TOOL}`;
  for (const index of INDEXES) await onHost(fleet, index, ['sh', '-c', install, '_', TOOL_SCRIPT]);
});

afterAll(async () => {
  for (const dir of locals) rmSync(dir, { recursive: true, force: true });
  for (const index of INDEXES) {
    await hostExec(index, fleet.stateDir, ['rm', '-rf', path.dirname(TOOL), ...remotes]);
  }
});

const sync = (args: string[], options?: Parameters<typeof orgalorg>[2]) =>
  orgalorg(fleet, [...fleet.all, ...args], { timeoutMs: 60_000, ...options });
const every = (line: string) => perHost(fleet.addresses, line);

/** The lines of `text` that `host` printed, without the prefix, in their order. */
function linesOf(text: string, host: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${host} `))
    .map((line) => line.slice(host.length + 1));
}

/** Hosts (of 1..3) where `file` exists. */
async function hostsWith(file: string): Promise<number[]> {
  const found: number[] = [];
  for (const index of INDEXES) {
    if ((await hostExec(index, fleet.stateDir, ['test', '-e', file])).code === 0) found.push(index);
  }
  return found;
}

describe('sync', () => {
  it('should upload into a new /var/run/orgalorg/ directory without -r and run the tool there', async () => {
    const dir = workdir();
    const file = path.join(dir, 'payload');
    writeFileSync(file, 'payload\n');

    const result = await sync(['-x', '-n', 'pwd', '-S', 'payload'], { cwd: dir });
    expect(result.code).toBe(0);
    const runs = fleet.addresses.map((address) => linesOf(result.stdout, address));
    const [first] = runs[0] ?? [];
    expect(first).toMatch(/^\/var\/run\/orgalorg\/\d{14}(\.\d{1,6})?$/);
    expect(runs).toEqual(fleet.addresses.map(() => [first]));
    remotes.push(first ?? '');

    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    for (const index of INDEXES) {
      const out = await onHost(fleet, index, ['sha256sum', `${first}${file}`]);
      expect(out.split(' ')[0]).toBe(sha);
    }
  });

  it('should give the tool each -g argument as one exact word', async () => {
    const result = await sync([
      '-r',
      remote('args'),
      '-n',
      'printf "[%s]\\n" "$@"',
      '-g',
      'a b',
      '-g',
      '$HOME',
      '-g',
      "it's",
      '-S',
    ]);
    expect(result.stderr).toBe('');
    for (const address of fleet.addresses) {
      expect(linesOf(result.stdout, address)).toEqual(['[a b]', '[$HOME]', "[it's]"]);
    }
    expect(result.code).toBe(0);
  });

  it('should hand the -n text to the remote shell as it is, $$ included', async () => {
    const result = await sync(['-r', remote('dollars'), '-n', 'echo "pid $$"', '-S']);
    for (const address of fleet.addresses) {
      expect(linesOf(result.stdout, address)).toEqual([expect.stringMatching(/^pid \d+$/)]);
    }
    expect(result.code).toBe(0);
  });

  it('should run the tool as a plain command with -m, fed the -i file', async () => {
    const dir = workdir();
    const input = path.join(dir, 'input');
    writeFileSync(input, 'one\ntwo\nthree\n');

    const result = await sync(['-r', remote('simple'), '-m', '-i', input, '-n', 'cat', '-S']);
    expect(result.stderr).toBe('');
    for (const address of fleet.addresses) {
      expect(linesOf(result.stdout, address)).toEqual(['one', 'two', 'three']);
    }
    expect(result.code).toBe(0);
  });

  it('should send no archive with --no-upload', async () => {
    const target = remote('no-upload');
    for (const index of INDEXES) await onHost(fleet, index, ['mkdir', '-p', target]);

    const result = await sync(['-vv', '--no-upload', '-r', target, '-n', 'ls -A; echo ran', '-S']);
    const lines = logLines(result.stderr);
    expect(lines.filter((line) => line.includes('{cmd}')).sort()).toEqual(
      NODES.map((name) => `[DEBUG] {cmd} <stdout> ${name} ran`),
    );
    expect(lines.filter((line) => /file upload|sending file|\{tar\}/.test(line))).toEqual([]);
    expect(result.code).toBe(0);
    expect(await Promise.all(INDEXES.map((i) => onHost(fleet, i, ['ls', '-A', target])))).toEqual(
      INDEXES.map(() => ''),
    );
  });

  it('should run the tool with --no-upload and no -r', async () => {
    const result = await sync(['--no-upload', '-n', 'echo ran', '-S']);
    expect(result.stderr).toBe('');
    expect(sortLines(result.stdout)).toBe(every('ran'));
    expect(result.code).toBe(0);
  });

  it('should work with a tool that ignores the protocol', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'x'), 'x\n');
    const target = remote('ignore');

    const result = await sync(['-e', '-r', target, '-n', 'rm x', '-S', 'x'], { cwd: dir });
    expect(result.stdout).toBe('');
    expect(logLines(result.stderr)).toEqual(["[INFO]     1/1 sending file: 'x'"]);
    expect(result.code).toBe(0);
    expect(await hostsWith(`${target}/x`)).toEqual([]);
  });

  it('should let every tool finish phase 1 before any starts phase 2, relaying each SYNC to all', async () => {
    const result = await sync(['-r', remote('phases'), '-g', 'phase1', '-S']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const address of fleet.addresses) {
      expect(linesOf(result.stdout, address)).toEqual([
        'PHASE 1',
        'PHASE 2',
        `relays 3: ${NODES.join(' ')}`,
      ]);
    }
    const lines = result.stdout.split('\n');
    const at = (text: string) =>
      lines.flatMap((line, index) => (line.endsWith(` ${text}`) ? [index] : []));
    expect(at('PHASE 1')).toHaveLength(3);
    expect(at('PHASE 2')).toHaveLength(3);
    expect(Math.max(...at('PHASE 1'))).toBeLessThan(Math.min(...at('PHASE 2')));
    expect(result.stdout).not.toContain('ORGALORG:');
  });

  it('should run the README sync tool example: all hosts check their files before any goes on', async () => {
    const example = readFileSync(new URL('../../examples/sync-tool.sh', import.meta.url), 'utf8');
    const tool = remote('example-tool.sh');
    for (const index of INDEXES) {
      await onHost(fleet, index, ['sh', '-c', 'printf "%s" "$1" > "$2"', '_', example, tool]);
    }
    const local = workdir();
    writeFileSync(path.join(local, 'a.conf'), 'a\n');
    writeFileSync(path.join(local, 'b.conf'), 'b\n');

    const result = await sync(['-e', '-r', remote('example'), '-n', `bash ${tool}`, '-S', '.'], {
      cwd: local,
    });

    expect(result.code).toBe(0);
    for (const address of fleet.addresses) {
      expect(linesOf(result.stdout, address)).toEqual([
        'phase 1: 2 files here, 3 hosts in the run',
        'phase 2: all 3 hosts checked their files',
      ]);
    }
    const lines = result.stdout.split('\n');
    const at = (start: string) =>
      lines.flatMap((line, index) => (line.includes(` ${start}`) ? [index] : []));
    expect(Math.max(...at('phase 1:'))).toBeLessThan(Math.min(...at('phase 2:')));
  });

  it("should print the tool's stderr prefixed with the host", async () => {
    const result = await sync(['-r', remote('stderr'), '-n', 'echo oops >&2', '-S']);
    expect(result.stdout).toBe('');
    expect(sortLines(result.stderr)).toBe(every('oops'));
    expect(result.code).toBe(0);
  });

  it("should print the tool's last line without newline", async () => {
    const result = await sync(['-r', remote('partial'), '-n', 'echo first; printf last', '-S']);
    for (const address of fleet.addresses) {
      expect(linesOf(result.stdout, address)).toEqual(['first', 'last']);
    }
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.code).toBe(0);
  });

  it('should exit 1 with the exit code of a failing tool', async () => {
    const result = await sync(['-r', remote('failing'), '-n', 'exit 3', '-S']);
    const lines = logLines(result.stderr).map(leaf);
    expect(lines[0]).toBe('[FATAL] failed to run sync command');
    expect(lines).toContain('code 3 (3 nodes)');
    expect(lines.filter((line) => line.startsWith('[orgalorg@')).sort()).toEqual(NODES);
    expect(result.code).toBe(1);
  });

  it('should emit the barrier of the library with every host before any host starts phase 2', async () => {
    const hosts = await loadHosts(process.env['ORGALORG_TEST_HOSTS_DIR']);
    const events = await lastValueFrom(
      phases({
        hosts: fleet.addresses,
        user: hosts.user,
        key: hosts.key,
        tool: `${TOOL} phase1`,
        step: 'phase1',
      }).pipe(toArray()),
    );

    const barriers = events.flatMap((event, index) => (event.kind === 'barrier' ? [index] : []));
    expect(barriers).toHaveLength(1);
    const [reached = -1] = barriers;
    const barrier = events[reached];
    expect(
      barrier?.kind === 'barrier' ? barrier.hosts.map((host) => host.node).sort() : [],
    ).toEqual(NODES);
    const phase2 = events.flatMap((event, index) =>
      event.kind === 'stdout' && event.data.toString().includes('PHASE 2') ? [index] : [],
    );
    expect(phase2).toHaveLength(3);
    expect(Math.min(...phase2)).toBeGreaterThan(reached);
    const syncs = events.flatMap((event, index) => (event.kind === 'sync' ? [index] : []));
    expect(syncs).toHaveLength(3);
    expect(events.flatMap((event) => (event.kind === 'exit' ? [event.code] : []))).toEqual([
      0, 0, 0,
    ]);
  });
});
