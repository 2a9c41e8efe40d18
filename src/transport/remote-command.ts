/** Quotes one word for a POSIX shell, whatever it contains. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export interface RemoteCommandConfig {
  /** Working directory on the host (`-r`). */
  readonly directory?: string;
  /** Wrapper template whose `{}` receives the command text (`--shell`); empty for none. */
  readonly shell: string;
  /** Extra arguments for the wrapper, as `$1`, `$2`... of the wrapped text (`-g`). */
  readonly args?: readonly string[];
  /** Prefix the whole line with `sudo -n -E -H` (`-x`). */
  readonly sudo?: boolean;
}

/**
 * Builds the remote command line from the command words the way orgalorg does: the words are
 * joined with spaces, so shell syntax in them stays live on the host (as with `ssh`), then put
 * into the `--shell` template. Unlike orgalorg, the directory and the arguments are quoted for
 * the shell whatever they contain.
 *
 * @example
 * remoteCommand(['echo', '$HOME'], { shell: "bash -c '{}'", directory: '/tmp', sudo: true });
 * // sudo -n -E -H bash -c 'cd /tmp && { echo $HOME; }'
 */
export function remoteCommand(words: readonly string[], config: RemoteCommandConfig): string {
  const joined = words.join(' ');
  const script =
    config.directory === undefined || config.directory === ''
      ? joined
      : `cd ${shellQuote(config.directory)} && { ${joined}; }`;

  let line = script;
  if (config.shell !== '') {
    const embedded = script.replaceAll("'", `'\\''`);
    // A function, so `$$`, `$&` and the like in the command are not replacement patterns.
    line = config.shell.replaceAll('{}', () => embedded);
    if (config.args !== undefined && config.args.length > 0) {
      line += ` _ ${config.args.map(shellQuote).join(' ')}`;
    }
  }
  return config.sudo === true ? `sudo -n -E -H ${line}` : line;
}
