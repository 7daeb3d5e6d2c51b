/**
 * Ownership: the workflow never changes what it does not own.
 *
 * - an `istio-ingress-api` Ingress created by someone else → ObjectOwnedByAnother,
 *   and nothing in the cluster is written (the plan is refused before any apply);
 * - a `*.<ns>.<domain>` record without our ownership TXT, or with a TXT naming
 *   another owner → RecordOwnedByAnother, and the record set is left as it was;
 * - with `"adopt": true` the same runs take the object and the record over;
 * - certificates: ours are found by tag (Resource Groups Tagging API, which
 *   moto 5.2.5 answers for `acm:certificate` from its own ACM state), among
 *   other owners' and untagged ones.
 */
import { RequestCertificateCommand } from '@aws-sdk/client-acm';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { AcmAdapter } from '../../shared/aws/acm';
import { RateLimiter } from '../../shared/aws/rateLimit';
import { TAG_OWNER } from '../../shared/ownership';
import { awsFor } from './workflow';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { failureOf, kubeState, records, run, snapshot, writeFigures, type RecordSnapshot } from './reliability';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const INGRESS = ['networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api'] as const;

describe('ownership: foreign records and objects are refused and left untouched unless adopt', () => {
  let tb: Testbed;
  const figures = { refused: 0, adopted: 0, foreignChanged: 0 };

  const request = (namespace: string, extra: Record<string, unknown> = {}) => ({
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: REGION },
    namespaces: [namespace],
    auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    ...extra,
  });

  const recordsAt = async (name: string): Promise<RecordSnapshot[]> =>
    (await records(tb.aws.route53, tb.hostedZoneId)).filter((r) => r.name === name);

  const upsert = async (name: string, type: 'CNAME' | 'TXT', value: string) =>
    tb.aws.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: tb.hostedZoneId,
        ChangeBatch: {
          Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: type, TTL: 60, ResourceRecords: [{ Value: value }] } }],
        },
      }),
    );

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: ['team-a', 'foreign', 'other'],
      clusterName: 'kubeflow',
      region: REGION,
    });
    // Someone else's header-protected Ingress, applied with kubectl.
    await tb.kubeAdmin().create(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name: 'istio-ingress-api',
          namespace: 'istio-system',
          labels: { app: 'someone-elses' },
          // target-type ip: the gateway Service is ClusterIP, which instance targets (the default) cannot use.
          annotations: {
            'kubernetes.io/ingress.class': 'alb',
            'alb.ingress.kubernetes.io/scheme': 'internal',
            'alb.ingress.kubernetes.io/target-type': 'ip',
          },
        },
        spec: { defaultBackend: { service: { name: 'istio-ingressgateway', port: { number: 80 } } } },
      },
      'kubectl',
    );
    // Let the load-balancer controller finish with it (it writes the status), so only our writes could change it.
    await tb.lb.waitForAlb('istio-system', 'istio-ingress-api');
    // A record with no ownership TXT, and one whose TXT names another owner.
    await upsert(`*.foreign.${DOMAIN}`, 'CNAME', 'lb.someone-else.example.net');
    await upsert(`*.other.${DOMAIN}`, 'CNAME', 'lb.team-b.example.net');
    await upsert(
      `_kserve-edge.other.${DOMAIN}`,
      'TXT',
      `"heritage=kserve-edge,kserve-edge/owner=team-b,kserve-edge/resource=*.other.${DOMAIN}"`,
    );
  }, 240_000);

  afterAll(async () => {
    writeFigures('ownership', figures);
    await tb?.stop();
  }, 60_000);

  it('a foreign istio-ingress-api Ingress: ObjectOwnedByAnother, and no cluster object is written', async () => {
    const before = await snapshot(tb);
    const ingressBefore = await tb.kubeAdmin().get(...INGRESS);
    const result = await run(tb.env, request('team-a'), 'own-ingress-1');
    expect(failureOf(result)).toMatchObject({ failState: 'ObjectOwnedByAnother' });
    expect(failureOf(result).message).toMatch(/Ingress istio-system\/istio-ingress-api exists and is not managed by kserve-edge/);
    const ingressAfter = await tb.kubeAdmin().get(...INGRESS);
    expect(ingressAfter).toEqual(ingressBefore);
    expect(ingressAfter?.metadata.managedFields?.map((f) => f.manager)).not.toContain('kserve-edge');
    expect(await kubeState(tb)).toEqual(before.kube);
    expect((await recordsAt(`*.team-a.${DOMAIN}`)).length).toBe(0);
    figures.refused += 1;
    if (JSON.stringify(ingressAfter) !== JSON.stringify(ingressBefore)) figures.foreignChanged += 1;
  }, 120_000);

  it('the same request with "adopt": true takes the Ingress over', async () => {
    const result = await run(tb.env, request('team-a', { adopt: true }), 'own-ingress-2');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const ingress = await tb.kubeAdmin().get(...INGRESS);
    expect(ingress?.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'kserve-edge',
      'kserve-edge.io/owner': 'kserve-edge',
    });
    expect(ingress?.metadata.annotations?.['alb.ingress.kubernetes.io/scheme']).toBe('internet-facing');
    figures.adopted += 1;
  }, 120_000);

  it.each([
    ['without an ownership record', 'foreign', /exists \(CNAME\) without an ownership record/],
    [
      'whose ownership record names another owner',
      'other',
      /ownership record _kserve-edge\.other\.platform\.example\.com names another owner/,
    ],
  ])(
    'a *.<ns> record %s: RecordOwnedByAnother, and the record set is untouched',
    async (_label, namespace, message) => {
      const target = await recordsAt(`*.${namespace}.${DOMAIN}`);
      const txt = await recordsAt(`_kserve-edge.${namespace}.${DOMAIN}`);
      const result = await run(tb.env, request(namespace), `own-record-${namespace}-1`);
      expect(failureOf(result)).toMatchObject({ failState: 'RecordOwnedByAnother' });
      expect(failureOf(result).message).toMatch(message);
      expect(await recordsAt(`*.${namespace}.${DOMAIN}`)).toEqual(target);
      expect(await recordsAt(`_kserve-edge.${namespace}.${DOMAIN}`)).toEqual(txt);
      figures.refused += 1;
    },
    120_000,
  );

  it('"adopt": true takes a record without an ownership TXT over; the other owner’s record is still untouched', async () => {
    const otherBefore = [...(await recordsAt(`*.other.${DOMAIN}`)), ...(await recordsAt(`_kserve-edge.other.${DOMAIN}`))];
    const result = await run(tb.env, request('foreign', { adopt: true }), 'own-record-foreign-2');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const alb = (result.output as { loadBalancer: { hostname: string } }).loadBalancer.hostname;
    expect(await recordsAt(`*.foreign.${DOMAIN}`)).toEqual([{ name: `*.foreign.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [alb] }]);
    expect((await recordsAt(`_kserve-edge.foreign.${DOMAIN}`))[0]?.values).toEqual([
      `"heritage=kserve-edge,kserve-edge/owner=kserve-edge,kserve-edge/resource=*.foreign.${DOMAIN}"`,
    ]);
    const otherAfter = [...(await recordsAt(`*.other.${DOMAIN}`)), ...(await recordsAt(`_kserve-edge.other.${DOMAIN}`))];
    expect(otherAfter).toEqual(otherBefore);
    if (JSON.stringify(otherAfter) !== JSON.stringify(otherBefore)) figures.foreignChanged += 1;
    figures.adopted += 1;
  }, 120_000);

  it("certificates: exactly ours are found by tag among another owner's and untagged ones", async () => {
    const { acm, tagging } = awsFor(tb.motoUrl, REGION);
    const request = async (name: string, owner?: string): Promise<string> =>
      (
        await acm.send(
          new RequestCertificateCommand({
            DomainName: name,
            ValidationMethod: 'DNS',
            ...(owner ? { Tags: [{ Key: TAG_OWNER, Value: owner }] } : {}),
          }),
        )
      ).CertificateArn!;
    const ours = [await request(`*.mine-1.${DOMAIN}`, 'tag-search-me'), await request(`*.mine-2.${DOMAIN}`, 'tag-search-me')];
    for (let i = 0; i < 6; i++) await request(`*.theirs-${i}.${DOMAIN}`, i % 2 === 0 ? 'tag-search-team-b' : undefined);
    // A prefix of our owner id is another owner: GetResources matches whole values.
    await request(`*.prefix.${DOMAIN}`, 'tag-search-m');

    const found = await new AcmAdapter(acm, tagging, new RateLimiter({ perSecond: {} })).listOwnedCertificates('tag-search-me');

    expect(found.map((c) => c.arn).sort()).toEqual([...ours].sort());
    expect(found.every((c) => c.tags[TAG_OWNER] === 'tag-search-me' && c.domainName.startsWith('*.mine-'))).toBe(true);
  });
});
