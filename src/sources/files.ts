import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileProblem, OrgalorgError } from '../errors.js';
import type { LogHook } from '../types.js';

/** One entry of the archive: a directory, a regular file or a symlink. */
export interface FileEntry {
  /** Where it is here. */
  readonly path: string;
  /** Its name in the archive, relative to the run directory on the hosts. */
  readonly name: string;
  readonly stats: Stats;
}

export interface FileListConfig {
  /** Keep paths as given (`-e`) instead of absolute. */
  readonly relative?: boolean;
  readonly cwd?: string;
  readonly log?: LogHook;
}

/**
 * Walks the local files to upload, before any host is contacted: directories (empty ones too),
 * regular files and symlinks (not followed), each once; FIFOs, sockets and devices are skipped
 * with a warning.
 *
 * @throws OrgalorgError with code `files.list` naming the path that cannot be read.
 */
export async function fileList(
  sources: readonly string[],
  config: FileListConfig = {},
): Promise<FileEntry[]> {
  const cwd = config.cwd ?? process.cwd();
  const entries: FileEntry[] = [];
  const seen = new Set<string>();

  const visit = async (path: string, shown: string): Promise<void> => {
    const absolute = resolve(cwd, path);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    let stats: Stats;
    try {
      stats = await lstat(absolute);
    } catch (error: unknown) {
      throw new OrgalorgError(`can't read '${shown}': ${fileProblem(error)}`, {
        code: 'files.list',
        cause: error,
      });
    }
    const name = archiveName(absolute, shown, config.relative === true);
    if (!stats.isDirectory() && !stats.isFile() && !stats.isSymbolicLink()) {
      config.log?.({
        level: 'warn',
        message: `skipping '${shown}': not a file, directory or symlink`,
      });
      return;
    }
    if (name !== '') entries.push({ path: absolute, name, stats });
    if (!stats.isDirectory()) return;

    let children: string[];
    try {
      children = (await readdir(absolute)).sort();
    } catch (error: unknown) {
      throw new OrgalorgError(`can't list directory '${shown}': ${fileProblem(error)}`, {
        code: 'files.list',
        cause: error,
      });
    }
    for (const child of children) await visit(join(path, child), join(shown, child));
  };

  for (const source of sources) {
    // With -e the path is the name in the archive: a `..` in it would land outside -r.
    if (config.relative === true && source.split('/').includes('..')) {
      throw new OrgalorgError(
        `can't upload '${source}' with -e: its '..' would land outside the target directory; ` +
          'give a path below the working directory, or leave out -e',
        { code: 'files.list' },
      );
    }
    await visit(source, source);
  }
  return entries;
}

/** Absolute paths lose their leading `/`; with `-e` the path stays as given. */
function archiveName(absolute: string, shown: string, keepRelative: boolean): string {
  const name = keepRelative ? shown : absolute;
  return name.replace(/^(\.?\/)+/, '').replace(/\/+$/, '');
}
