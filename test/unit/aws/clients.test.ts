import { acmClient, eksClient, maxAttemptsFromEnv, resetClients, route53Client, snsClient } from '../../../shared/aws/clients';

describe('Module: clients', () => {
  const saved = process.env.KSERVE_EDGE_AWS_MAX_ATTEMPTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.KSERVE_EDGE_AWS_MAX_ATTEMPTS;
    else process.env.KSERVE_EDGE_AWS_MAX_ATTEMPTS = saved;
    resetClients();
  });

  it('caches one client per service and region', async () => {
    expect(acmClient('us-west-2')).toBe(acmClient('us-west-2'));
    expect(acmClient('us-west-2')).not.toBe(acmClient('eu-west-1'));
    expect(await acmClient('eu-west-1').config.region()).toBe('eu-west-1');
    expect(eksClient('us-west-2')).not.toBe(acmClient('us-west-2'));
    expect(route53Client()).toBe(route53Client());
  });

  it('reads maxAttempts from the environment, default 3', async () => {
    delete process.env.KSERVE_EDGE_AWS_MAX_ATTEMPTS;
    expect(await snsClient('us-west-2').config.maxAttempts()).toBe(3);
    resetClients();
    process.env.KSERVE_EDGE_AWS_MAX_ATTEMPTS = '7';
    expect(await snsClient('us-west-2').config.maxAttempts()).toBe(7);
  });

  it.each(['0', 'x', '2.5', '-1'])('rejects %s', (v) => {
    expect(() => maxAttemptsFromEnv({ KSERVE_EDGE_AWS_MAX_ATTEMPTS: v })).toThrow(/KSERVE_EDGE_AWS_MAX_ATTEMPTS/);
  });
});
