import { CanaryFailedError } from '../../../shared/errors';
import { checkV2Response, comparePrediction, flattenData, type V2Output } from '../../../shared/canary/v2';

/** The guide's expected answer (kfm kserve.md v1.5.1). */
const GUIDE_RESPONSE = {
  model_name: 'sklearn-irisv2',
  model_version: null,
  id: 'e5fc40ba-5f02-42f7-aff8-34042facbe11',
  parameters: null,
  outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', parameters: null, data: [1, 2] }],
};

function kindOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CanaryFailedError);
    return (err as CanaryFailedError).kind;
  }
  return undefined;
}

describe('checkV2Response', () => {
  it('accepts the guide response', () => {
    const r = checkV2Response(GUIDE_RESPONSE, { model: 'sklearn-irisv2' });
    expect(r.outputs[0]?.data).toEqual([1, 2]);
  });

  it('accepts nested data and extra fields', () => {
    const body = {
      ...GUIDE_RESPONSE,
      outputs: [
        {
          name: 'predict_proba',
          shape: [2, 3],
          datatype: 'FP64',
          data: [
            [0.1, 0.2, 0.7],
            [0.3, 0.3, 0.4],
          ],
        },
      ],
      extra: 1,
    };
    expect(() => checkV2Response(body, { model: 'sklearn-irisv2' })).not.toThrow();
  });

  it.each([
    ['not an object', [1, 2], 'not a JSON object'],
    ['null', null, 'not a JSON object'],
    ['a V2 error', { error: 'Model not ready' }, 'V2 error: Model not ready'],
    ['the v1 answer', { predictions: [1, 1] }, 'model_name is missing'],
    ['another model', { ...GUIDE_RESPONSE, model_name: 'other' }, 'model_name is "other", expected "sklearn-irisv2"'],
    ['no id', { ...GUIDE_RESPONSE, id: undefined }, 'id is missing'],
    ['numeric id', { ...GUIDE_RESPONSE, id: 7 }, 'id is missing or not a string'],
    ['no outputs', { ...GUIDE_RESPONSE, outputs: [] }, 'outputs is missing or empty'],
    ['outputs not an array', { ...GUIDE_RESPONSE, outputs: {} }, 'outputs is missing or empty'],
    ['an output without name', { ...GUIDE_RESPONSE, outputs: [{ shape: [1], datatype: 'FP32', data: [1] }] }, 'outputs[0].name'],
    ['a fractional shape', { ...GUIDE_RESPONSE, outputs: [{ name: 'p', shape: [1.5], datatype: 'FP32', data: [1] }] }, 'outputs[0].shape'],
    ['a string shape', { ...GUIDE_RESPONSE, outputs: [{ name: 'p', shape: '2', datatype: 'FP32', data: [1] }] }, 'outputs[0].shape'],
    ['no datatype', { ...GUIDE_RESPONSE, outputs: [{ name: 'p', shape: [1], data: [1] }] }, 'outputs[0].datatype'],
    ['data not an array', { ...GUIDE_RESPONSE, outputs: [{ name: 'p', shape: [1], datatype: 'FP32', data: 1 }] }, 'outputs[0].data'],
  ])('rejects %s as protocol', (_name, body, message) => {
    let err: unknown;
    try {
      checkV2Response(body, { model: 'sklearn-irisv2' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CanaryFailedError);
    expect((err as CanaryFailedError).kind).toBe('protocol');
    expect((err as Error).message).toContain(message);
  });

  it('also compares the prediction when expected is given', () => {
    expect(
      kindOf(() => checkV2Response(GUIDE_RESPONSE, { model: 'sklearn-irisv2', expected: { outputName: 'predict', data: [1, 2] } })),
    ).toBeUndefined();
    expect(
      kindOf(() => checkV2Response(GUIDE_RESPONSE, { model: 'sklearn-irisv2', expected: { outputName: 'predict', data: [2, 2] } })),
    ).toBe('prediction');
  });
});

describe('comparePrediction', () => {
  const outputs = (data: unknown[], name = 'predict'): V2Output[] => [{ name, shape: [data.length], datatype: 'FP32', data }];

  it('returns the flattened data on a match', () => {
    expect(comparePrediction(outputs([[1], [2]]), { outputName: 'predict', data: [1, 2] })).toEqual([1, 2]);
  });

  it('compares numbers with a 1e-6 tolerance', () => {
    expect(kindOf(() => comparePrediction(outputs([0.1 + 0.2, 1.0000004]), { outputName: 'predict', data: [0.3, 1] }))).toBeUndefined();
    expect(kindOf(() => comparePrediction(outputs([1.00001]), { outputName: 'predict', data: [1] }))).toBe('prediction');
  });

  it.each([
    ['a string for a number', ['1', '2'], [1, 2]],
    ['a number for a string', [1], ['1']],
    ['a boolean for a number', [true], [1]],
    ['a shorter answer', [1], [1, 2]],
    ['a longer answer', [1, 2, 3], [1, 2]],
    ['a different label', ['setosa'], ['virginica']],
  ])('treats %s as a mismatch', (_name, actual, expected) => {
    expect(kindOf(() => comparePrediction(outputs(actual), { outputName: 'predict', data: expected }))).toBe('prediction');
  });

  it('says which output is missing and lists the others', () => {
    let message = '';
    try {
      comparePrediction(outputs([1], 'predict_proba'), { outputName: 'predict', data: [1] });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('prediction: no output named "predict" (outputs: predict_proba)');
  });

  it('shows expected and actual values', () => {
    expect(() => comparePrediction(outputs([2, 2]), { outputName: 'predict', data: [1, 2] })).toThrow(
      'output "predict" values differ: expected [1,2], actual [2,2]',
    );
  });

  it('abbreviates long outputs', () => {
    const long = Array.from({ length: 100 }, (_, i) => i);
    expect(() => comparePrediction(outputs(long), { outputName: 'predict', data: [] })).toThrow(/actual \[0,1,.*,19,…\(100 values\)\]/);
  });
});

describe('flattenData', () => {
  it('flattens row-major', () => {
    expect(flattenData([[1, [2, 3]], [], [4]])).toEqual([1, 2, 3, 4]);
  });
});
