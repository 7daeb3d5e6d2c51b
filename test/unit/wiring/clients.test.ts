import { acmClient, eksClient, resetClients, route53Client, snsClient, taggingClient } from '../../../wiring/clients';
import { parseConfig } from '../../../wiring/config';

describe('Module: clients', () => {
  const config = parseConfig({});
  afterEach(() => {
    resetClients();
  });

  it('caches one client per service and region', async () => {
    expect(acmClient(config, 'us-west-2')).toBe(acmClient(config, 'us-west-2'));
    expect(acmClient(config, 'us-west-2')).not.toBe(acmClient(config, 'eu-west-1'));
    expect(await acmClient(config, 'eu-west-1').config.region()).toBe('eu-west-1');
    expect(eksClient(config, 'us-west-2')).not.toBe(acmClient(config, 'us-west-2'));
    expect(route53Client(config)).toBe(route53Client(config));
    // The tagging API finds certificates: the certificates' region, its own client.
    expect(taggingClient(config, 'us-west-2')).toBe(taggingClient(config, 'us-west-2'));
    expect(await taggingClient(config, 'eu-west-1').config.region()).toBe('eu-west-1');
    expect(taggingClient(config, 'us-west-2')).not.toBe(acmClient(config, 'us-west-2'));
  });

  it('takes maxAttempts from the configuration (KSERVE_EDGE_AWS_MAX_ATTEMPTS), default 3', async () => {
    expect(await snsClient(config, 'us-west-2').config.maxAttempts()).toBe(3);
    resetClients();
    expect(await snsClient(parseConfig({ KSERVE_EDGE_AWS_MAX_ATTEMPTS: '7' }), 'us-west-2').config.maxAttempts()).toBe(7);
  });

  it('Route 53 stays in us-east-1 unless AWS_REGION is in another partition', async () => {
    expect(await route53Client(parseConfig({ AWS_REGION: 'eu-west-1' })).config.region()).toBe('us-east-1');
    expect(await route53Client(parseConfig({ AWS_REGION: 'cn-north-1' })).config.region()).toBe('cn-north-1');
  });

  it.each(['0', 'x', '2.5', '-1'])('rejects %s', (v) => {
    expect(() => parseConfig({ KSERVE_EDGE_AWS_MAX_ATTEMPTS: v })).toThrow(/KSERVE_EDGE_AWS_MAX_ATTEMPTS/);
  });
});
