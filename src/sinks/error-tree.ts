import { isOrgalorgError } from '../errors.js';

function partsOf(error: unknown): { text: string; children: readonly unknown[] } {
  if (isOrgalorgError(error)) return { text: error.message, children: error.children };
  if (error instanceof Error) return { text: error.message, children: [] };
  return { text: String(error), children: [] };
}

/**
 * Draws an error and the errors it aggregates as a tree, the way orgalorg prints them:
 *
 * ```
 * connecting to cluster failed
 * └─ connection to 1 of 3 nodes failed
 *    └─ can't connect to address: [root@web3:22]: connect ECONNREFUSED
 * ```
 */
export function errorTree(error: unknown): string {
  return treeLines(error).join('\n');
}

function treeLines(error: unknown): string[] {
  const { text, children } = partsOf(error);
  const lines = text.split('\n');
  children.forEach((child, index) => {
    const last = index === children.length - 1;
    treeLines(child).forEach((line, at) => {
      const lead = at === 0 ? (last ? '└─ ' : '├─ ') : last ? '   ' : '│  ';
      lines.push(lead + line);
    });
  });
  return lines;
}

/** The same error on one line, for JSON logs: `parent: child; other child`. */
export function errorLine(error: unknown): string {
  const { text, children } = partsOf(error);
  if (children.length === 0) return text;
  return `${text}: ${children.map(errorLine).join('; ')}`;
}
