import { formatTaskSpec, parseTaskSpec } from './task.js';
import { formatUserTaskSpec, isUserTaskSpec, parseUserTaskSpec } from './user-task.js';

/**
 * Canonical text of any task spec, built-in (fashion-mnist:…, cifar10:…) or the user's own
 * (folder:…, csv:…); throws BAD_TASK_SPEC like the parsers. Needs no files.
 */
export function canonicalTaskText(text: string): string {
  return isUserTaskSpec(text) ? formatUserTaskSpec(parseUserTaskSpec(text)) : formatTaskSpec(parseTaskSpec(text));
}
