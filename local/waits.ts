/**
 * Wait states in a local run: skipped or scaled on request, but a
 * `SecondsPath` still has to evaluate to what Step Functions accepts (an
 * integer 0..99999999), so a Task that returns a bad poll interval fails
 * here as it would in AWS.
 */
import type { AslDefinition, AslState } from './definition';
import { StatesError } from './library';

/** `'real'`: wait as the definition says; a number: scale every wait by it (0 skips them). */
export type WaitMode = 'real' | number;

/** Reads `$.a.b.c` (plain dotted paths only) from a value. */
function readDottedPath(path: string, value: unknown): { found: boolean; value?: unknown } {
  if (path === '$') return { found: true, value };
  if (!/^\$(\.[A-Za-z0-9_-]+)+$/.test(path)) return { found: false };
  let cur: unknown = value;
  for (const seg of path.slice(2).split('.')) {
    if (cur === null || typeof cur !== 'object' || !(seg in cur)) return { found: false };
    cur = (cur as Record<string, unknown>)[seg];
  }
  return { found: true, value: cur };
}

/** Where a Wait's `SecondsPath` reads from: `path` within the result of Task `task`. */
interface WaitFeed {
  task: string;
  path: string;
}

/**
 * The Task whose result a Wait's `SecondsPath` reads: the one the Wait loops
 * back to, whose `ResultPath` is a prefix of the `SecondsPath`.
 */
function feedingTask(def: AslDefinition, waitName: string): WaitFeed | undefined {
  const wait = def.States[waitName];
  if (!wait?.SecondsPath) return undefined;
  const candidates = Object.entries(def.States).filter(
    ([, s]) =>
      s.Type === 'Task' &&
      typeof s.ResultPath === 'string' &&
      (wait.SecondsPath === s.ResultPath || wait.SecondsPath!.startsWith(`${s.ResultPath}.`)),
  );
  // The Task the Wait loops back to; else the most specific ResultPath.
  candidates.sort(([, a], [, b]) => (b.ResultPath as string).length - (a.ResultPath as string).length);
  const preferred = candidates.find(([name]) => name === wait.Next) ?? candidates[0];
  if (!preferred) return undefined;
  const resultPath = preferred[1].ResultPath as string;
  const rest = wait.SecondsPath.slice(resultPath.length);
  return { task: preferred[0], path: `$${rest}` };
}

function checkWaitSeconds(waitName: string, path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 99_999_999) {
    throw new StatesError(
      'States.Runtime',
      `Wait ${waitName}: SecondsPath ${path} evaluated to ${JSON.stringify(value)}, but expected an integer 0..99999999`,
      false,
      false,
    );
  }
  return value;
}

/**
 * The seconds a Wait would wait now: its `Seconds`, or its `SecondsPath`
 * read from the feeding Task's latest result (and checked). `undefined` for
 * timestamps and paths not traced to a Task.
 */
function secondsFromLastResult(
  name: string,
  state: AslState,
  feed: WaitFeed | undefined,
  lastResult: ReadonlyMap<string, unknown>,
): number | undefined {
  if (typeof state.Seconds === 'number') return state.Seconds;
  if (!feed || !lastResult.has(feed.task)) return undefined;
  const read = readDottedPath(feed.path, lastResult.get(feed.task));
  return checkWaitSeconds(name, state.SecondsPath!, read.found ? read.value : undefined);
}

/**
 * The library's `waitTimeOverrides` (milliseconds by Wait state name) for a
 * mode other than `'real'`. Each entry is a getter, evaluated when the Wait
 * is entered, so `SecondsPath` is checked against the result that feeds it
 * on that visit. An entry that yields `undefined` (timestamps, or a
 * `SecondsPath` not traced to a Task) makes the library wait for real.
 *
 * @param lastResult the latest result of each Task, kept up to date by the caller
 */
export function waitTimeOverrides(
  definition: AslDefinition,
  mode: WaitMode,
  lastResult: ReadonlyMap<string, unknown>,
): Record<string, number> {
  const overrides: Record<string, number> = {};
  if (mode === 'real') return overrides;
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Wait') continue;
    const feed = feedingTask(definition, name);
    Object.defineProperty(overrides, name, {
      enumerable: true,
      get(): number | undefined {
        const seconds = secondsFromLastResult(name, state, feed, lastResult);
        if (mode === 0) return 0;
        return seconds === undefined ? undefined : seconds * mode * 1000;
      },
    });
  }
  return overrides;
}

/**
 * The seconds a Wait state asks for, read from the input it was entered
 * with (before any override), for the progress line; `undefined` when it
 * is not a Wait or the value is not a number.
 */
export function requestedWaitSeconds(state: AslState | undefined, input: unknown): number | undefined {
  if (state?.Type !== 'Wait') return undefined;
  if (typeof state.Seconds === 'number') return state.Seconds;
  if (!state.SecondsPath) return undefined;
  const read = readDottedPath(state.SecondsPath, input);
  return read.found && typeof read.value === 'number' ? read.value : undefined;
}
