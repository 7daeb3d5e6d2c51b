/**
 * Loading an ASL definition for a local run: the file as written has
 * CloudFormation `Fn::GetAtt` Resources (serverless resolves them at deploy
 * time); locally each becomes a fake Lambda ARN that the runner maps to an
 * in-process handler.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The region of the fake ARNs of a local run. */
export const LOCAL_REGION = 'us-east-1';
/** The account of the fake ARNs of a local run. */
export const LOCAL_ACCOUNT_ID = '123456789012';
/** What a function key is prefixed with in its fake Lambda ARN (the deployed functions' prefix). */
export const LOCAL_FUNCTION_PREFIX = 'kserve-edge-';
/** The state machine name in `$$.StateMachine` and `$$.Execution.Id` of a local run. */
export const LOCAL_STATE_MACHINE_NAME = 'kserve-edge-provision-local';
/** Where the provisioning workflow lives, relative to the repository root. */
export const DEFAULT_DEFINITION_PATH = 'statemachine/provision.asl.json';

/** One `Retry` entry of a state. */
export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

/** One `Catch` entry of a state. */
export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

/** One rule of a Choice state. */
export interface AslChoiceRule {
  Variable?: string;
  Next: string;
  [operator: string]: unknown;
}

/** One state of a JSONPath definition, loosely typed so tests can read any field. */
export interface AslState {
  Type: 'Task' | 'Choice' | 'Wait' | 'Succeed' | 'Fail' | 'Pass' | 'Parallel' | 'Map';
  Comment?: string;
  Resource?: unknown;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  TimeoutSeconds?: number;
  Retry?: AslRetrier[];
  Catch?: AslCatcher[];
  Choices?: AslChoiceRule[];
  Default?: string;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Error?: string;
  Cause?: string;
  Next?: string;
  End?: boolean;
  [field: string]: unknown;
}

/** A whole JSONPath state machine definition. */
export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
  [field: string]: unknown;
}

/** The fake Lambda ARN a function key gets in a local definition. */
export function localFunctionArn(functionKey: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${LOCAL_FUNCTION_PREFIX}${functionKey}`;
}

function getAttArnKey(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'Fn::GetAtt') return undefined;
  const att = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(att) && att.length === 2 && typeof att[0] === 'string' && att[1] === 'Arn') return att[0];
  if (typeof att === 'string' && att.endsWith('.Arn')) return att.slice(0, -'.Arn'.length);
  return undefined;
}

function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}

/** Copies `value` with every `Fn::GetAtt` Arn replaced; `path` names where it is, for the error. */
function resolveIntrinsics(value: unknown, path: string): unknown {
  const key = getAttArnKey(value);
  if (key !== undefined) return localFunctionArn(key);
  if (isIntrinsic(value)) {
    throw new TypeError(`cannot resolve the CloudFormation intrinsic at ${path} locally: ${JSON.stringify(value)}`);
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveIntrinsics(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v, `${path}.${k}`)]));
  }
  return value;
}

/**
 * Replaces every `{"Fn::GetAtt": ["<functionKey>", "Arn"]}` with
 * {@link localFunctionArn}. Any other CloudFormation intrinsic is an error:
 * nothing could resolve it locally.
 *
 * @example
 *   toLocalDefinition({ StartAt: 'A', States: { A: { Type: 'Task', Resource: { 'Fn::GetAtt': ['doA', 'Arn'] }, End: true } } })
 *   // Resource: 'arn:aws:lambda:us-east-1:123456789012:function:kserve-edge-doA'
 */
export function toLocalDefinition(raw: unknown): AslDefinition {
  const out = resolveIntrinsics(raw, '$');
  if (out === null || typeof out !== 'object' || !('States' in out) || !('StartAt' in out)) {
    throw new TypeError('not a state machine definition: StartAt and States are required');
  }
  return out as AslDefinition;
}

/**
 * State name → serverless function key, read from the `Fn::GetAtt` of every
 * Task of a raw (undeployed) definition.
 */
export function taskFunctionKeys(raw: AslDefinition): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, state] of Object.entries(raw.States)) {
    if (state.Type !== 'Task') continue;
    const key = getAttArnKey(state.Resource);
    if (key === undefined) throw new TypeError(`Task ${name}: Resource is not {"Fn::GetAtt": [<functionKey>, "Arn"]}`);
    out[name] = key;
  }
  return out;
}

/** Walks up from this module's folder to the first folder holding `relative`. */
function findUpwards(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const fromCwd = resolve(relative);
  if (existsSync(fromCwd)) return fromCwd;
  throw new Error(`cannot find ${relative} above ${dirname(fileURLToPath(import.meta.url))} or in ${process.cwd()}`);
}

/** Reads an ASL file as written (with its `Fn::GetAtt` Resources). */
export function readRawDefinition(path: string = DEFAULT_DEFINITION_PATH): AslDefinition {
  const file = isAbsolute(path) ? path : path === DEFAULT_DEFINITION_PATH ? findUpwards(path) : resolve(path);
  return JSON.parse(readFileSync(file, 'utf8')) as AslDefinition;
}

/**
 * Loads the state machine ready for a local run: the file's Task Resources
 * become fake Lambda ARNs (`arn:aws:lambda:us-east-1:123456789012:function:kserve-edge-<key>`).
 * The default path is found from this module upwards, so it works from the
 * sources, the tests and the bundled CLI alike.
 */
export function loadDefinition(path: string = DEFAULT_DEFINITION_PATH): AslDefinition {
  return toLocalDefinition(readRawDefinition(path));
}
