import { parseProvisionRequest } from '../../shared/request';
import { InvalidRequestError } from '../../shared/errors';
import { KubeConfig } from '@kubernetes/client-node';

describe('parseProvisionRequest', () => {
  it('fills defaults', () => {
    const req = parseProvisionRequest({ domain: 'platform.example.com', cluster: { name: 'kf', region: 'us-west-2' }, namespaces: ['staging'], auth: { provider: 'cognito', headerValuesSecretId: 's' } });
    expect(req.auth).toEqual({ provider: 'cognito', headerName: 'x-api-key', headerValuesSecretId: 's' });
    expect(typeof KubeConfig).toBe('function');
  });
  it('rejects a wildcard domain', () => {
    expect(() => parseProvisionRequest({ domain: '*.example.com' })).toThrow(InvalidRequestError);
  });
});
