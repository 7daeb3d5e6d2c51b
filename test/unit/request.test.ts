import { parseProvisionRequest, provisionRequestJsonSchema } from '../../shared/request';
import { InvalidRequestError } from '../../shared/errors';
import { COGNITO_INPUT } from '../fixtures/requests';

const base = COGNITO_INPUT as Record<string, unknown>;
const cognito = (auth: Record<string, unknown>) => ({ ...base, auth: { provider: 'cognito', headerValuesSecretId: 's', ...auth } });

describe('parseProvisionRequest', () => {
  it('fills every default', () => {
    const req = parseProvisionRequest({
      domain: 'platform.example.com',
      cluster: { name: 'kf', region: 'us-west-2' },
      namespaces: ['staging'],
      auth: { provider: 'cognito', headerValuesSecretId: 's' },
    });
    expect(req).toMatchObject({
      auth: { provider: 'cognito', headerName: 'x-api-key', headerValuesSecretId: 's' },
      certificates: { mode: 'per-namespace' },
      dns: { recordType: 'CNAME', ttl: 300 },
      ingress: { scheme: 'internet-facing' },
      canary: { model: 'sklearn-irisv2', timeoutSeconds: 10 },
      deadlines: { certificateSeconds: 259200, loadBalancerSeconds: 1800, dnsSeconds: 900 },
      ownerId: 'kserve-edge',
      adopt: false,
    });
  });

  it('is idempotent: a normalised request parses to itself', () => {
    const once = parseProvisionRequest(base);
    expect(parseProvisionRequest(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it.each<[string, unknown, string]>([
    ['uppercase domain', { ...base, domain: 'Platform.example.com' }, 'domain'],
    ['leading hyphen in a label', { ...base, domain: '-platform.example.com' }, 'domain'],
    ['empty label', { ...base, domain: 'platform..example.com' }, 'domain'],
    ['label over 63 characters', { ...base, domain: `${'a'.repeat(64)}.example.com` }, 'domain'],
    ['wildcard domain', { ...base, domain: '*.platform.example.com' }, 'domain'],
    ['single-label domain', { ...base, domain: 'localhost' }, 'domain'],
    ['trailing dot', { ...base, domain: 'platform.example.com.' }, 'domain'],
    ['uppercase namespace', { ...base, namespaces: ['Staging'] }, 'namespaces[0]'],
    ['namespace with a leading hyphen', { ...base, namespaces: ['-staging'] }, 'namespaces[0]'],
    ['namespace over 63 characters', { ...base, namespaces: ['n'.repeat(64)] }, 'namespaces[0]'],
    ['empty namespace', { ...base, namespaces: [''] }, 'namespaces[0]'],
    ['no namespaces', { ...base, namespaces: [] }, 'namespaces'],
    ['repeated namespace', { ...base, namespaces: ['a', 'a'] }, 'namespaces'],
    ['more namespaces than a request takes', { ...base, namespaces: Array.from({ length: 501 }, (_, i) => `n${i}`) }, 'namespaces'],
    [
      'single mode over the ACM quota',
      { ...base, certificates: { mode: 'single' }, namespaces: Array.from({ length: 10 }, (_, i) => `ns${i}`) },
      'namespaces',
    ],
    ['missing cluster', { ...base, cluster: undefined }, 'cluster'],
    ['bad region', { ...base, cluster: { name: 'kf', region: 'mars-1' } }, 'cluster.region'],
    ['unknown auth provider', { ...base, auth: { provider: 'okta' } }, 'auth.provider'],
    ['header name over 40 characters', cognito({ headerName: 'x'.repeat(41) }), 'auth.headerName'],
    ['header name Host', cognito({ headerName: 'Host' }), 'auth.headerName'],
    ['header name with a space', cognito({ headerName: 'x api key' }), 'auth.headerName'],
    ['header name with _ (the ALB drops it)', cognito({ headerName: 'x_api_key' }), 'auth.headerName'],
    ['header name with . (the ALB drops it)', cognito({ headerName: 'x.api.key' }), 'auth.headerName'],
    ['header values in the request instead of a secret', cognito({ headerValues: ['token1'] }), 'auth'],
    ['unknown top-level field', { ...base, extra: true }, '(root)'],
    ['wrong type', { ...base, namespaces: 'staging' }, 'namespaces'],
    ['canary namespace outside the request', { ...base, canary: { namespaces: ['dev'] } }, 'canary.namespaces[0]'],
    ['bad hosted zone id', { ...base, hostedZoneId: 'zone-1' }, 'hostedZoneId'],
    ['deadline over 72 h', { ...base, deadlines: { certificateSeconds: 72 * 3600 + 1 } }, 'deadlines.certificateSeconds'],
    ['not an object', 'platform.example.com', '(root)'],
    ['certificates.release outside mode "bundled"', { ...base, certificates: { release: ['gone'] } }, 'certificates.release'],
    [
      'certificates.release with mode "per-namespace"',
      { ...base, certificates: { mode: 'per-namespace', release: ['gone'] } },
      'certificates.release',
    ],
    [
      'certificates.release that is not a DNS label',
      { ...base, certificates: { mode: 'bundled', release: ['Gone_1'] } },
      'certificates.release[0]',
    ],
    ['certificates.release repeated', { ...base, certificates: { mode: 'bundled', release: ['gone', 'gone'] } }, 'certificates.release'],
    [
      'certificates.release naming a served namespace',
      { ...base, namespaces: ['staging', 'dev'], certificates: { mode: 'bundled', release: ['old', 'dev'] } },
      'certificates.release[1]',
    ],
  ])('%s → InvalidRequest with the field path', (_label, input, path) => {
    let caught: unknown;
    try {
      parseProvisionRequest(input);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidRequestError);
    expect((caught as InvalidRequestError).path).toBe(path);
    // The message lists each problem as `<path>: <what is wrong>`, the root's as `(root): …`.
    expect((caught as Error).message).toMatch(new RegExp(`(^|; |: )${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S`));
  });

  it.each<[string, unknown, string]>([
    ['unknown top-level field', { ...base, extra: true }, 'invalid request: (root): Unrecognized key: "extra"'],
    ['not an object', 'platform.example.com', 'invalid request: (root): Invalid input: expected object, received string'],
  ])('%s: the root-level message says what is wrong', (_label, input, message) => {
    expect(() => parseProvisionRequest(input)).toThrow(new InvalidRequestError(message, { path: '(root)' }));
  });

  it('rejects a request near the 256 KB payload limit before parsing it', () => {
    expect(() => parseProvisionRequest({ ...base, padding: 'x'.repeat(200_000) })).toThrow(/bytes; at most/);
  });

  it('exports a JSON Schema a console user can follow', () => {
    const schema = provisionRequestJsonSchema() as { required: string[]; additionalProperties: boolean };
    expect(schema.required).toEqual(expect.arrayContaining(['domain', 'cluster', 'namespaces', 'auth']));
    expect(schema.additionalProperties).toBe(false);
  });
});
