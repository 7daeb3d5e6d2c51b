/**
 * Our JWT rendering held against the real AWS Load Balancer Controller on the
 * testbed: the Ingresses `desiredClusterState` renders for JWT mode (the token
 * rule, and the migration's header rule in the same IngressGroup) pass the
 * controller's validating webhook and its model build (which parses
 * `jwt-validation`: pkg/ingress/enhanced_backend_builder.go), so no
 * `FailedBuildModel` event; a rendering the parser refuses (no issuer) does
 * get one, so the check can fail.
 *
 * Deploying the rules into ELBv2 is not asserted here: moto does not know the
 * `jwt-validation` action; the testbed's AWS proxy keeps it (issue 12, testbed
 * side), and provision-jwt.test.ts covers the deployed path.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { desiredClusterState, JWT_HEADER_INGRESS, JWT_INGRESS, ANNOTATION_JWT_VALIDATION } from '../../shared/plan/cluster';
import { parseProvisionRequest } from '../../shared/request';
import type { KubeClient, KubeObject } from '../../testbed/lib/kube';
import type { KubeObject as ProductObject } from '../../shared/ports';

const asTb = (o: ProductObject): KubeObject => o as unknown as KubeObject;
import { waitFor } from '../../testbed/lib/net';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { realLbcOptions, requestCertificates, waitIssued } from './harness';

jest.setTimeout(300_000);

const DOMAIN = 'platform.example.com';
const NS = 'staging';
const ISSUER = 'https://issuer.platform.example.com/dex';
const TOKEN = 'k7Qm2Zx9Lp4Rt8Wv3Yb6Nc1Hd5Jf0Gs2';

let tb: Testbed;
let kube: KubeClient;

type Event = KubeObject & { involvedObject?: { name?: string }; reason?: string; message?: string };
async function eventsFor(name: string, reason: string): Promise<string[]> {
  const events = await kube.list<Event>('v1', 'Event', 'istio-system');
  return events.filter((e) => e.involvedObject?.name === name && e.reason === reason).map((e) => e.message ?? '');
}

function rendered(certificateArn: string) {
  const request = parseProvisionRequest({
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: 'us-west-2' },
    namespaces: [NS],
    auth: {
      provider: 'jwt',
      issuer: ISSUER,
      jwksEndpoint: `${ISSUER}/keys`,
      claims: [
        { name: 'aud', format: 'single-string', values: ['kserve-canary'] },
        { name: 'scope', format: 'space-separated-values', values: ['kserve/invoke', 'kserve/admin'] },
        { name: 'groups', format: 'string-array', values: ['ml'] },
      ],
      canary: { clientSecretId: 'kserve-edge/canary-client', tokenEndpoint: `${ISSUER}/token` },
      transition: { headerValuesSecretId: 'kserve-edge/api-tokens' },
    },
  });
  return desiredClusterState({ request, certificateArns: [certificateArn], headerValues: [TOKEN] });
}

beforeAll(async () => {
  tb = await startTestbed(realLbcOptions(DOMAIN, NS));
  kube = tb.kubeAdmin();
});
afterAll(async () => {
  await tb?.stop();
});

describe('JWT rendering against the real controller', () => {
  let arn = '';
  test('the webhook admits our token Ingress and header Ingress, and the model build parses them', async () => {
    [arn] = (await requestCertificates(tb, [`*.${NS}.${DOMAIN}`])) as [string];
    await waitIssued(tb, [arn]);
    const desired = rendered(arn);
    // As ConfigureCluster writes them: the header rule first, then the token rule.
    await kube.apply(asTb(desired.jwt!.headerIngress!), { fieldManager: 'kserve-edge', force: true });
    await kube.apply(asTb(desired.ingress), { fieldManager: 'kserve-edge', force: true });
    // The controller has taken both into its group (its finalizer), i.e. it built a model of them.
    for (const name of [JWT_INGRESS, JWT_HEADER_INGRESS]) {
      await waitFor(
        async () =>
          ((await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', name))?.metadata.finalizers ?? []).includes(
            'group.ingress.k8s.aws/kserve-edge.kserve-edge',
          ) || undefined,
        { what: `${name} in group kserve-edge.kserve-edge`, timeoutMs: 60_000, intervalMs: 250 },
      );
    }
    // Give the controller a reconcile after both exist, then: no FailedBuildModel for either.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await eventsFor(JWT_INGRESS, 'FailedBuildModel')).toEqual([]);
    expect(await eventsFor(JWT_HEADER_INGRESS, 'FailedBuildModel')).toEqual([]);
    const stored = await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', JWT_INGRESS);
    expect(stored?.metadata.annotations?.[ANNOTATION_JWT_VALIDATION]).toBe(
      desired.ingress.metadata.annotations?.[ANNOTATION_JWT_VALIDATION],
    );
  });

  test('control: an annotation without issuer is refused by the controller’s parser (FailedBuildModel)', async () => {
    const bad = rendered(arn).ingress;
    bad.metadata.name = 'istio-ingress-jwt-bad';
    bad.metadata.annotations = {
      ...bad.metadata.annotations,
      'alb.ingress.kubernetes.io/group.name': 'kserve-edge.control',
      [ANNOTATION_JWT_VALIDATION]: JSON.stringify({ jwksEndpoint: `${ISSUER}/keys` }),
    };
    await kube.apply(asTb(bad), { fieldManager: 'kserve-edge', force: true });
    const events = await waitFor(
      async () => {
        const e = await eventsFor('istio-ingress-jwt-bad', 'FailedBuildModel');
        return e.length > 0 ? e : undefined;
      },
      { what: 'FailedBuildModel for the bad annotation', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(events[0]).toContain('issuer is a required field for jwt validation');
  });
});
