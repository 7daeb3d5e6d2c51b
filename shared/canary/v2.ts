/**
 * Checks of a KServe V2 (Open Inference Protocol) inference response.
 *
 * ```json
 * {"model_name": "sklearn-irisv2", "model_version": null, "id": "e5fc…", "parameters": null,
 *  "outputs": [{"name": "predict", "shape": [2], "datatype": "FP32", "parameters": null, "data": [1, 2]}]}
 * ```
 * (kserve `docs/predict-api/v2/required_api.md`; the guide's expected output.)
 */
import { CanaryFailedError } from '../errors';

export interface V2Output {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: unknown;
}

export interface V2Response {
  model_name: string;
  model_version?: string | null;
  id: string;
  parameters?: unknown;
  outputs: V2Output[];
}

/** Absolute tolerance for numbers, scaled by the expected value's magnitude when it exceeds 1. */
export const PREDICTION_TOLERANCE = 1e-6;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function protocol(message: string): CanaryFailedError {
  return new CanaryFailedError('protocol', message);
}

/**
 * Asserts that `body` is a V2 inference response for `model`.
 * Throws {@link CanaryFailedError} `protocol` naming the first problem; with
 * `expected`, also runs {@link comparePrediction} (which throws `prediction`).
 *
 * @example
 *   const response = checkV2Response(JSON.parse(text), { model: 'sklearn-irisv2' });
 */
export function checkV2Response(
  body: unknown,
  options: { model: string; expected?: { outputName: string; data: readonly unknown[] } },
): V2Response {
  if (!isRecord(body)) throw protocol('the answer is not a JSON object');
  if (typeof body.error === 'string' && body.outputs === undefined) {
    throw protocol(`the server answered a V2 error: ${body.error.slice(0, 200)}`);
  }
  if (typeof body.model_name !== 'string') throw protocol('model_name is missing or not a string');
  if (body.model_name !== options.model) throw protocol(`model_name is "${body.model_name.slice(0, 100)}", expected "${options.model}"`);
  if (typeof body.id !== 'string') throw protocol('id is missing or not a string');
  if (!Array.isArray(body.outputs) || body.outputs.length === 0) throw protocol('outputs is missing or empty');
  for (const [i, out] of (body.outputs as unknown[]).entries()) {
    if (!isRecord(out)) throw protocol(`outputs[${i}] is not an object`);
    if (typeof out.name !== 'string' || out.name === '') throw protocol(`outputs[${i}].name is missing or not a string`);
    if (!Array.isArray(out.shape) || !out.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw protocol(`outputs[${i}].shape is not an array of non-negative integers`);
    }
    if (typeof out.datatype !== 'string' || out.datatype === '') throw protocol(`outputs[${i}].datatype is missing or not a string`);
    if (!Array.isArray(out.data)) throw protocol(`outputs[${i}].data is not an array`);
  }
  const response = body as unknown as V2Response;
  if (options.expected) comparePrediction(response.outputs, options.expected);
  return response;
}

/** Row-major flattening of nested arrays (V2 allows flat or nested `data`). */
export function flattenData(data: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else out.push(v);
  };
  walk(data);
  return out;
}

function sameValue(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Number.isNaN(expected) || Number.isNaN(actual)) return Number.isNaN(expected) && Number.isNaN(actual);
    return Math.abs(actual - expected) <= PREDICTION_TOLERANCE * Math.max(1, Math.abs(expected));
  }
  // Different types never match: "1" is not 1, true is not 1.
  return typeof actual === typeof expected && actual === expected;
}

function preview(values: readonly unknown[]): string {
  const text = JSON.stringify(values.slice(0, 20)) ?? '[]';
  return values.length > 20 ? `${text.slice(0, -1)},…(${values.length} values)]` : text;
}

/**
 * Compares the named output's data (flattened) with the expected values.
 * Throws {@link CanaryFailedError} `prediction` showing expected and actual.
 *
 * @example
 *   comparePrediction(response.outputs, { outputName: 'predict', data: [1, 2] });
 */
export function comparePrediction(outputs: readonly V2Output[], expected: { outputName: string; data: readonly unknown[] }): unknown[] {
  const output = outputs.find((o) => o.name === expected.outputName);
  if (!output) {
    const names = outputs.map((o) => o.name).join(', ');
    throw new CanaryFailedError('prediction', `no output named "${expected.outputName}" (outputs: ${names})`);
  }
  const actual = flattenData(output.data);
  const wanted = flattenData(expected.data);
  const mismatch =
    actual.length !== wanted.length
      ? 'length differs'
      : wanted.findIndex((w, i) => !sameValue(actual[i], w)) >= 0
        ? 'values differ'
        : undefined;
  if (mismatch) {
    throw new CanaryFailedError(
      'prediction',
      `output "${expected.outputName}" ${mismatch}: expected ${preview(wanted)}, actual ${preview(actual)}`,
    );
  }
  return actual;
}
