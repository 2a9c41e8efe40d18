// -U: what lands on every host (contents, modes, owners, symlinks, long names), what is skipped,
// and how a missing or changing local file and a receiver dying mid-upload end the run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostExec } from '../support/hosts.js';
import {
  eventually,
  hostsRunning,
  leaf,
  logLines,
  onHost,
  orgalorg,
  processes,
  silentListener,
  startOrgalorg,
  useFleet,
} from './fixture.js';

const fleet = useFleet();
const INDEXES = [1, 2, 3];
const node = (index: number) => `[orgalorg@127.20.0.${index}:22]`;
const RECEIVER = 'tar --directory';

const locals: string[] = [];
const remotes: string[] = [];

/** A fresh local directory for the files of one test. */
function workdir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orgalorg-upload-'));
  locals.push(dir);
  return dir;
}

/** A remote directory no other test uses, removed from every host after the file. */
function remote(what: string): string {
  const dir = `/tmp/orgalorg-upload-${process.pid}-${remotes.length}-${what}`;
  remotes.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of locals) rmSync(dir, { recursive: true, force: true });
  for (const index of INDEXES) {
    await hostExec(index, fleet.stateDir, ['rm', '-rf', ...remotes]);
  }
});

function write(file: string, content: string | Buffer, mode?: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  if (mode !== undefined) chmodSync(file, mode);
  return file;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The output of the same command on every host, host 1 first. */
function onEvery(args: string[]): Promise<string[]> {
  return Promise.all(INDEXES.map((index) => onHost(fleet, index, args)));
}

async function remoteSha256(file: string): Promise<string[]> {
  return (await onEvery(['sha256sum', file])).map((out) => out.split(' ')[0] ?? '');
}

/** Hosts (of 1..3) where `path` exists (a dangling symlink counts). */
async function hostsWith(file: string): Promise<number[]> {
  const found: number[] = [];
  for (const index of INDEXES) {
    const result = await hostExec(index, fleet.stateDir, [
      'sh',
      '-c',
      'test -e "$1" || test -L "$1"',
      '_',
      file,
    ]);
    if (result.code === 0) found.push(index);
  }
  return found;
}

/** Hosts where nobody holds a lock on /tmp (the lock of `-r /tmp/...`). */
async function tmpLockFree(): Promise<number[]> {
  const free: number[] = [];
  for (const index of INDEXES) {
    const result = await hostExec(index, fleet.stateDir, ['flock', '-nx', '/tmp', 'true']);
    if (result.code === 0) free.push(index);
  }
  return free;
}

/** A writer process of our own that appends to `file` every millisecond until stopped. */
function appender(file: string): ChildProcess {
  const loop =
    'const fs = require("node:fs");' +
    'setInterval(() => fs.appendFileSync(process.argv[1], "x".repeat(4096)), 1);';
  return spawn(process.execPath, ['-e', loop, file], { stdio: 'ignore' });
}

function stop(writer: ChildProcess): void {
  if (writer.pid !== undefined && writer.exitCode === null) process.kill(writer.pid, 'SIGKILL');
}

const upload = (args: string[], cwd: string) =>
  orgalorg(fleet, [...fleet.all, ...args], { cwd, timeoutMs: 100_000 });

/** The run failed, naming the file that changed while it was archived, and did not crash. */
function expectChangedFile(result: { stderr: string; code: number | null }, file: string): void {
  const lines = logLines(result.stderr);
  expect(lines.some((line) => line.startsWith('[FATAL]'))).toBe(true);
  expect(
    lines.map(leaf).filter((line) => line.includes(`'${file}': it changed while it was read`)),
  ).not.toEqual([]);
  expect(result.stderr).not.toContain('Unhandled');
  expect(result.code).toBe(1);
}

/** No tar receiver is left on any host and every lock is free again. */
async function expectNothingLeft(): Promise<void> {
  await eventually(
    'no receiver runs on any host',
    async () => (await hostsRunning(fleet, RECEIVER)).length === 0,
  );
  expect(await tmpLockFree()).toEqual(INDEXES);
}

/** Waits until host `index` holds more than `bytes` of `file`: the upload is under way. */
async function received(index: number, file: string, bytes: number): Promise<void> {
  await eventually(
    `host ${index} received ${bytes} bytes`,
    async () => {
      const size = await hostExec(index, fleet.stateDir, ['stat', '-c', '%s', file]);
      return size.code === 0 && Number(size.stdout) > bytes;
    },
    60_000,
  );
}

describe('upload', () => {
  it('should land a single file identical on every host with -e', async () => {
    const dir = workdir();
    const file = write(path.join(dir, 'data.bin'), randomBytes(200_000));
    const target = remote('single');

    const result = await upload(['-e', '-r', target, '-U', 'data.bin'], dir);
    expect(result.stdout).toBe('');
    expect(logLines(result.stderr)).toEqual(["[INFO]     1/1 sending file: 'data.bin'"]);
    expect(result.code).toBe(0);
    expect(await remoteSha256(`${target}/data.bin`)).toEqual(INDEXES.map(() => sha256(file)));
  });

  it('should land a file at its absolute local path under -r without -e', async () => {
    const dir = workdir();
    const file = write(path.join(dir, 'absolute.txt'), 'absolute\n');
    const target = remote('absolute');

    const result = await upload(['-r', target, '-U', 'absolute.txt'], dir);
    expect(result.code).toBe(0);
    expect(await remoteSha256(`${target}${file}`)).toEqual(INDEXES.map(() => sha256(file)));
    expect(await hostsWith(`${target}/absolute.txt`)).toEqual([]);
  });

  it('should keep a directory tree with an empty directory and the modes of files and directories', async () => {
    const dir = workdir();
    const tree = path.join(dir, 'tree');
    mkdirSync(path.join(tree, 'empty'), { recursive: true });
    chmodSync(tree, 0o755);
    chmodSync(path.join(tree, 'empty'), 0o755);
    const secret = write(path.join(tree, 'private', 'secret'), 'secret\n', 0o640);
    const script = write(path.join(tree, 'private', 'run.sh'), '#!/bin/sh\necho run\n', 0o755);
    chmodSync(path.join(tree, 'private'), 0o750);
    const target = remote('tree');

    const result = await upload(['-e', '-r', target, '-U', 'tree'], dir);
    expect(result.code).toBe(0);
    const listing = [
      'd 755 ',
      'd 755 empty',
      'd 750 private',
      'f 755 private/run.sh',
      'f 640 private/secret',
    ].sort();
    for (const out of await onEvery(['find', `${target}/tree`, '-printf', '%y %m %P\\n'])) {
      expect(
        out
          .split('\n')
          .filter((line) => line !== '')
          .sort(),
      ).toEqual(listing);
    }
    expect(await remoteSha256(`${target}/tree/private/secret`)).toEqual(
      INDEXES.map(() => sha256(secret)),
    );
    expect(await remoteSha256(`${target}/tree/private/run.sh`)).toEqual(
      INDEXES.map(() => sha256(script)),
    );
  });

  it('should keep a mode of 000 as 000, not turn it into a default', async () => {
    const dir = workdir();
    write(path.join(dir, 'locked', 'key'), 'secret\n', 0o000);
    const target = remote('locked');

    const result = await upload(['-e', '-r', target, '-U', 'locked'], dir);
    expect(result.code).toBe(0);
    for (const out of await onEvery(['stat', '-c', '%a', `${target}/locked/key`])) {
      expect(out.trim()).toBe('0');
    }
  });

  it("should refuse a -e path with '..' before connecting to any host", async () => {
    const dir = workdir();
    write(path.join(dir, 'outside.txt'), 'x\n');
    const inner = path.join(dir, 'inner');
    mkdirSync(inner);

    const result = await upload(['-e', '-r', remote('dotdot'), '-U', '../outside.txt'], inner);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("can't upload '../outside.txt' with -e");
    expect(result.stderr).not.toContain('sending file');
  });

  it('should keep symlinks as symlinks with their targets, to a file and to a directory', async () => {
    const dir = workdir();
    const links = path.join(dir, 'links');
    write(path.join(links, 'target.txt'), 'target\n');
    write(path.join(links, 'sub', 'inside.txt'), 'inside\n');
    symlinkSync('target.txt', path.join(links, 'file-link'));
    symlinkSync('sub', path.join(links, 'dir-link'));
    symlinkSync('/etc/hostname', path.join(links, 'absolute-link'));
    const target = remote('links');

    const result = await upload(['-e', '-r', target, '-U', 'links'], dir);
    expect(result.code).toBe(0);
    const base = `${target}/links`;
    for (const [link, to] of [
      ['file-link', 'target.txt'],
      ['dir-link', 'sub'],
      ['absolute-link', '/etc/hostname'],
    ] as const) {
      expect(await onEvery(['stat', '-c', '%F', `${base}/${link}`])).toEqual(
        INDEXES.map(() => 'symbolic link\n'),
      );
      expect(await onEvery(['readlink', `${base}/${link}`])).toEqual(INDEXES.map(() => `${to}\n`));
    }
    // The directory behind the link came as a directory of its own, not as a copy in the link.
    expect(await onEvery(['stat', '-c', '%F', `${base}/sub`])).toEqual(
      INDEXES.map(() => 'directory\n'),
    );
    expect(await onEvery(['cat', `${base}/dir-link/inside.txt`])).toEqual(
      INDEXES.map(() => 'inside\n'),
    );
  });

  it('should upload a file whose relative path is 150 characters long', async () => {
    const dir = workdir();
    const name = `long/${'p'.repeat(145)}`;
    expect(name).toHaveLength(150);
    const file = write(path.join(dir, name), 'long name\n');
    const target = remote('long');

    const result = await upload(['-e', '-r', target, '-U', name], dir);
    expect(result.code).toBe(0);
    expect(await remoteSha256(`${target}/${name}`)).toEqual(INDEXES.map(() => sha256(file)));
  });

  it('should upload into the root-owned / with -x', async () => {
    const dir = workdir();
    const top = `orgalorg-root-${process.pid}`;
    const file = write(path.join(dir, top, 'file'), 'as root\n', 0o644);
    remotes.push(`/${top}`);

    const result = await upload(['-x', '-e', '-r', '/', '-U', top], dir);
    expect(result.stderr).not.toContain('[FATAL]');
    expect(result.code).toBe(0);
    expect(await remoteSha256(`/${top}/file`)).toEqual(INDEXES.map(() => sha256(file)));
    expect(await onEvery(['stat', '-c', '%u %a', `/${top}/file`])).toEqual(
      INDEXES.map(() => '0 644\n'),
    );
  });

  it('should keep the local uid under -x, and write uid 0 with --no-preserve-uid', async () => {
    const dir = workdir();
    const file = write(path.join(dir, 'owned'), 'owned by 1234\n', 0o644);
    chownSync(file, 1234, 1234);
    const kept = remote('uid-kept');
    const zeroed = remote('uid-zero');

    expect((await upload(['-x', '-e', '-r', kept, '-U', 'owned'], dir)).code).toBe(0);
    expect(
      (await upload(['-x', '--no-preserve-uid', '-e', '-r', zeroed, '-U', 'owned'], dir)).code,
    ).toBe(0);
    expect(await onEvery(['stat', '-c', '%u %g', `${kept}/owned`])).toEqual(
      INDEXES.map(() => '1234 1234\n'),
    );
    expect(await onEvery(['stat', '-c', '%u %g', `${zeroed}/owned`])).toEqual(
      INDEXES.map(() => '0 1234\n'),
    );
  });

  it('should skip a FIFO with a warning naming it and upload the rest', async () => {
    const dir = workdir();
    const plain = write(path.join(dir, 'special', 'plain'), 'plain\n');
    execFileSync('mkfifo', [path.join(dir, 'special', 'fifo')]);
    const target = remote('special');

    const result = await upload(['-e', '-r', target, '-U', 'special'], dir);
    expect(logLines(result.stderr)).toContain(
      "[WARN] skipping 'special/fifo': not a file, directory or symlink",
    );
    expect(result.code).toBe(0);
    expect(await remoteSha256(`${target}/special/plain`)).toEqual(INDEXES.map(() => sha256(plain)));
    expect(await hostsWith(`${target}/special/fifo`)).toEqual([]);
  });

  it('should fail naming a missing local file before connecting to any host', async () => {
    const dir = workdir();
    write(path.join(dir, 'present'), 'present\n');
    const missing = `missing-${process.pid}`;
    const target = remote('missing');
    const listener = await silentListener();
    try {
      const result = await orgalorg(
        fleet,
        [
          ...fleet.all,
          '-o',
          `${listener.address}:${listener.port}`,
          '-c',
          '2000',
          '-e',
          '-r',
          target,
          '-U',
          'present',
          missing,
        ],
        { cwd: dir },
      );
      expect(result.stdout).toBe('');
      const lines = logLines(result.stderr);
      expect(lines.some((line) => line.startsWith('[FATAL]'))).toBe(true);
      expect(lines.filter((line) => line.includes(`'${missing}'`))).not.toEqual([]);
      expect(result.code).toBe(1);
      expect(listener.accepted()).toBe(0);
    } finally {
      await listener.close();
    }
    expect(await hostsWith(target)).toEqual([]);
    expect(await tmpLockFree()).toEqual(INDEXES);
  });

  it('should show the names tar unpacks as {tar} lines with -v', async () => {
    const dir = workdir();
    write(path.join(dir, 'one'), 'one\n');
    write(path.join(dir, 'two'), 'two\n');
    const target = remote('verbose');

    const result = await upload(['-v', '-e', '-r', target, '-U', 'one', 'two'], dir);
    expect(result.stdout).toBe('');
    expect(
      logLines(result.stderr)
        .filter((line) => line.includes('{tar}'))
        .sort(),
    ).toEqual(
      INDEXES.flatMap((index) => [
        `[DEBUG] {cmd} <stdout> ${node(index)} {tar} one`,
        `[DEBUG] {cmd} <stdout> ${node(index)} {tar} two`,
      ]),
    );
    expect(result.code).toBe(0);
  });

  it('should fail naming a file that changes between listing and reading', async () => {
    const dir = workdir();
    const file = write(path.join(dir, 'growing'), Buffer.alloc(4 * 2 ** 20, 'a'));
    const target = remote('growing');
    const writer = appender(file);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const result = await upload(['-e', '-r', target, '-U', 'growing'], dir);
      expectChangedFile(result, file);
    } finally {
      stop(writer);
    }
    await expectNothingLeft();
  });

  it('should fail naming a file that grows while it is being sent', async () => {
    const dir = workdir();
    const file = path.join(dir, 'growing');
    writeFileSync(file, '');
    truncateSync(file, 200 * 2 ** 20);
    const target = remote('growing-late');

    const run = startOrgalorg(fleet, [...fleet.all, '-e', '-r', target, '-U', 'growing'], {
      cwd: dir,
      timeoutMs: 100_000,
    });
    await received(1, `${target}/growing`, 8 * 2 ** 20);
    const writer = appender(file);
    try {
      const result = await run.result;
      expectChangedFile(result, file);
    } finally {
      stop(writer);
    }
    await expectNothingLeft();
  });

  it('should fail naming the host whose receiver dies mid-upload and leave nothing running', async () => {
    const dir = workdir();
    const big = path.join(dir, 'big');
    writeFileSync(big, '');
    truncateSync(big, 300 * 2 ** 20);
    const target = remote('dying');

    const run = startOrgalorg(fleet, [...fleet.all, '-e', '-r', target, '-U', 'big'], {
      cwd: dir,
      timeoutMs: 100_000,
    });
    await received(2, `${target}/big`, 16 * 2 ** 20);
    const receivers = (await processes(fleet, 2)).filter((p) => p.cmdline.includes(RECEIVER));
    expect(receivers).not.toEqual([]);
    for (const { pid } of receivers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    }

    const result = await run.result;
    const lines = logLines(result.stderr).map(leaf);
    expect(lines).toContain("[FATAL] can't upload files on the remote nodes");
    const failed = lines.filter((line) => /^\[orgalorg@[\d.]+:22\]/.test(line));
    expect(failed.some((line) => line.startsWith(node(2)))).toBe(true);
    expect(result.code).toBe(1);

    // The others either completed or were stopped; none is left half-way and still running.
    const size = 300 * 2 ** 20;
    for (const index of [1, 3]) {
      const named = failed.some((line) => line.startsWith(node(index)));
      if (!named) {
        expect(await onHost(fleet, index, ['stat', '-c', '%s', `${target}/big`])).toBe(`${size}\n`);
      }
    }
    await expectNothingLeft();
  });
});
