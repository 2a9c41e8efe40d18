import { createReadStream } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { fileProblem, OrgalorgError } from '../errors.js';
import type { FileEntry } from '../sources/files.js';
import type { LogHook } from '../types.js';

export interface ArchiveConfig {
  /** Write uid 0 instead of the files' own (`--no-preserve-uid`). */
  readonly noPreserveUid?: boolean;
  /** Write gid 0 instead of the files' own (`--no-preserve-gid`). */
  readonly noPreserveGid?: boolean;
  readonly log?: LogHook;
}

/**
 * Packs the entries into one tar stream, read as it is consumed: a file's bytes are read only
 * when the slowest reader asks for them, so memory stays bounded whatever the file sizes.
 * Directories keep their modes, symlinks stay symlinks, long names get pax headers.
 *
 * The stream errors (code `files.read`, naming the file) when a file cannot be read or changes
 * while it is read, instead of sending a corrupt archive.
 */
export function packArchive(entries: readonly FileEntry[], config: ArchiveConfig = {}): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  const owner = (stats: FileEntry['stats']) => ({
    uid: config.noPreserveUid === true ? 0 : stats.uid,
    gid: config.noPreserveGid === true ? 0 : stats.gid,
  });

  const write = async () => {
    for (const [index, entry] of entries.entries()) {
      const { stats, name } = entry;
      // The whole st_mode: tar-stream writes only its permission bits, but would replace a mode
      // of 0 (a file locked down on purpose) with its default 0644.
      const header = { name, mode: stats.mode, mtime: stats.mtime, ...owner(stats) };
      config.log?.({
        level: 'info',
        message: `${String(index + 1).padStart(5)}/${entries.length} sending file: '${name}'`,
      });
      if (stats.isDirectory()) await addEntry(pack, { ...header, type: 'directory' });
      else if (stats.isSymbolicLink()) await addSymlink(pack, entry, header);
      else await addFile(pack, entry, header);
    }
    pack.finalize();
  };

  // The first error wins: ours, naming the file, is set before the pack is torn down.
  pipeline(pack, out).catch((error: unknown) => {
    if (!out.destroyed) out.destroy(error as Error);
  });
  write().catch((error: unknown) => {
    out.destroy(error as Error);
    pack.destroy();
  });
  return out;
}

type Header = Partial<tar.Header> & Pick<tar.Header, 'name'>;

function addEntry(pack: tar.Pack, header: Header): Promise<void> {
  return new Promise((resolve, reject) =>
    pack.entry(header, (error) => (error ? reject(error) : resolve())),
  );
}

async function addSymlink(pack: tar.Pack, entry: FileEntry, header: Header): Promise<void> {
  const linkname = await readlink(entry.path).catch((error: unknown) => {
    throw unreadable(entry, error);
  });
  await addEntry(pack, { ...header, type: 'symlink', linkname });
}

async function addFile(pack: tar.Pack, entry: FileEntry, header: Header): Promise<void> {
  const file = await open(entry.path, 'r').catch((error: unknown) => {
    throw unreadable(entry, error);
  });
  try {
    const changed = () =>
      new OrgalorgError(`can't archive '${entry.path}': it changed while it was read`, {
        code: 'files.read',
      });
    const same = (stats: FileEntry['stats']) =>
      stats.size === entry.stats.size && stats.mtimeMs === entry.stats.mtimeMs;
    if (!same(await file.stat())) throw changed();

    const size = entry.stats.size;
    const sink = pack.entry({ ...header, type: 'file', size });
    const written = new Promise<void>((resolve, reject) => {
      sink.on('finish', resolve);
      sink.on('error', reject);
    });
    // Exactly `size` bytes, checked before the entry ends: a file that grew or shrank is our
    // error naming it, never a corrupt archive or tar-stream's bare "size mismatch".
    let read = 0;
    const chunks = createReadStream('', { fd: file.fd, autoClose: false, start: 0, end: size - 1 });
    for await (const chunk of size === 0 ? [] : chunks) {
      read += (chunk as Buffer).length;
      if (!sink.write(chunk))
        await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    }
    if (read !== size || !same(await file.stat())) throw changed();
    sink.end(() => undefined);
    await written;
  } finally {
    await file.close();
  }
}

function unreadable(entry: FileEntry, error: unknown): OrgalorgError {
  return new OrgalorgError(`can't archive '${entry.path}': ${fileProblem(error)}`, {
    code: 'files.read',
    cause: error,
  });
}
