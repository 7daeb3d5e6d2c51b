import {
  AccessDeniedError,
  ClusterUnreachableError,
  InvalidSecretError,
  LoadBalancerRejectedError,
  LoadBalancerTimeoutError,
  ObjectOwnedByAnotherError,
} from '../../../shared/errors';
import type { KubeObject, LoadBalancersPort } from '../../../shared/ports';
import { clearSecrets, createLogger, silentLogger } from '../../../shared/log';
import { CONFIG_DOMAIN_REF, authorizationPolicyRef, ingressRefFor } from '../../../shared/plan/cluster';
import type { ProvisionRequest } from '../../../shared/request';
import { configureCluster, planConfigureCluster } from '../../../shared/steps/configureCluster';
import { getLoadBalancerAddress } from '../../../shared/steps/getLoadBalancerAddress';
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeKube } from '../../fakes/FakeKube';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import {
  ARN_A,
  ARN_B,
  ARN_FOREIGN,
  ARN_STALE,
  TOKEN_1,
  TOKEN_2,
  albIngressClass,
  cognitoRequest,
  dexRequest,
  handMadePolicy,
  kubeflowIngress,
  stockConfigDomain,
} from './fixtures';

const NOW = new Date('2024-05-01T12:00:00Z');
const at = (seconds: number) => () => new Date(NOW.getTime() + seconds * 1000);

/** A Kubeflow cluster with Knative's stock config-domain and, for Dex, Kubeflow's istio-ingress. */
function kubeflowCluster(options: { dex?: boolean } = {}): FakeKube {
  const kube = new FakeKube([
    { object: stockConfigDomain(), manager: 'kubectl-client-side-apply' },
    { object: albIngressClass(), manager: 'helm' },
  ]);
  if (options.dex) kube.seed(kubeflowIngress(ARN_FOREIGN));
  return kube;
}

function tokens(values: unknown = [TOKEN_1, TOKEN_2]): FakeSecrets {
  return new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: values } });
}

function deps(kube: FakeKube, extra: { secrets?: FakeSecrets; lines?: string[]; acm?: FakeAcm; route53?: InMemoryRoute53 } = {}) {
  const lines = extra.lines;
  return {
    kube,
    secrets: extra.secrets ?? tokens(),
    acm: extra.acm ?? new FakeAcm(),
    route53: extra.route53 ?? new InMemoryRoute53(),
    log: lines ? createLogger({ level: 'debug', sink: (l) => lines.push(l) }) : silentLogger,
    now: () => NOW,
  };
}

const input = (request: ProvisionRequest, certificateArns = [ARN_A], ownedArns: string[] = certificateArns) => ({
  request,
  certificateArns,
  ownedArns,
});

afterEach(() => clearSecrets());

describe('configureCluster', () => {
  it('Cognito on a fresh cluster: writes the guide objects, outputs no secret', async () => {
    const kube = kubeflowCluster();
    const lines: string[] = [];
    const out = await configureCluster(input(cognitoRequest()), deps(kube, { lines }));

    expect(out).toEqual({
      configuredAt: NOW.toISOString(),
      ingress: { namespace: 'istio-system', name: 'istio-ingress-api' },
      actions: [
        {
          action: 'patch',
          kind: 'ConfigMap',
          namespace: 'knative-serving',
          name: 'config-domain',
          reason: expect.stringMatching(/remove _example, set platform.example.com/),
        },
        { action: 'apply', kind: 'AuthorizationPolicy', namespace: 'istio-system', name: 'allow-predictor', reason: 'create' },
        { action: 'apply', kind: 'AuthorizationPolicy', namespace: 'istio-system', name: 'allow-transformer', reason: 'create' },
        { action: 'apply', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress-api', reason: 'create' },
      ],
      certificates: [{ arn: ARN_A, action: 'add', owner: 'ours', namespaces: [], reason: "this run's certificate (listener default)" }],
      // No inferenceservice-config: KServe's default mode (Knative), whose default template is nested; nothing to change.
      hostnames: {
        layout: 'nested',
        defaultMode: 'Knative',
        modes: [{ mode: 'Knative', current: 'nested', template: '{{.Name}}.{{.Namespace}}.{{.Domain}}', changes: false }],
      },
      // What GetLoadBalancerAddress then waits for: read back from the Ingress as written.
      expected: {
        certificateArns: [ARN_A],
        scheme: 'internet-facing',
        resourceVersion: kube.peek(ingressRefFor(cognitoRequest()))!.metadata.resourceVersion,
        uid: kube.peek(ingressRefFor(cognitoRequest()))!.metadata.uid,
        writtenAt: NOW.toISOString(),
      },
    });
    expect(kube.peek(CONFIG_DOMAIN_REF)!.data).toEqual({ 'platform.example.com': '' });
    const ingress = kube.peek(ingressRefFor(cognitoRequest()))!;
    expect(ingress.metadata.annotations!['alb.ingress.kubernetes.io/conditions.istio-ingressgateway']).toContain(TOKEN_2);
    expect(kube.fieldManagers(ingressRefFor(cognitoRequest()))['metadata.annotations.alb.ingress.kubernetes.io/certificate-arn']).toEqual([
      'kserve-edge',
    ]);
    expect(kube.peek(authorizationPolicyRef('allow-predictor'))!.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'kserve-edge',
    });

    // Header values never leave the step: not in the output, not in a log line.
    for (const text of [JSON.stringify(out), ...lines]) {
      expect(text).not.toContain(TOKEN_1);
      expect(text).not.toContain(TOKEN_2);
    }
    expect(lines.some((l) => l.includes('cluster plan'))).toBe(true);
  });

  it('a rerun is all none and writes nothing', async () => {
    const kube = kubeflowCluster();
    await configureCluster(input(cognitoRequest()), deps(kube));
    const writes = kube.writes;
    const again = await configureCluster(input(cognitoRequest()), deps(kube));
    expect(again.actions.map((a) => a.action)).toEqual(['none', 'none', 'none', 'none']);
    expect(kube.writes).toBe(writes);
  });

  it('a rotated token updates only the Ingress', async () => {
    const kube = kubeflowCluster();
    await configureCluster(input(cognitoRequest()), deps(kube));
    const rotated = 'Kq4mN8pR2sT6vX0zB3dF7hJ1lP5rU9wY';
    const out = await configureCluster(input(cognitoRequest()), deps(kube, { secrets: tokens([TOKEN_1, rotated]) }));
    expect(out.actions.map((a) => a.action)).toEqual(['none', 'none', 'none', 'apply']);
    const conditions = kube.peek(ingressRefFor(cognitoRequest()))!.metadata.annotations![
      'alb.ingress.kubernetes.io/conditions.istio-ingressgateway'
    ];
    expect(conditions).toContain(rotated);
    expect(conditions).not.toContain(TOKEN_2);
  });

  it('planning (what `kserve-edge plan` shows) plans but writes nothing', async () => {
    const kube = kubeflowCluster();
    const out = await planConfigureCluster(input(cognitoRequest()), deps(kube));
    expect(out.plan.map((a) => a.action)).toEqual(['patch', 'apply', 'apply', 'apply']);
    expect(kube.writes).toBe(0);
    expect(kube.peek(CONFIG_DOMAIN_REF)!.data).toHaveProperty('_example');
  });

  it('rejects weak tokens before touching the cluster', async () => {
    const kube = kubeflowCluster();
    await expect(configureCluster(input(cognitoRequest()), deps(kube, { secrets: tokens(['token1']) }))).rejects.toThrow(
      InvalidSecretError,
    );
    expect(kube.calls).toEqual([]);
  });

  it('leaves hand-made identical policies alone and refuses a hand-made Cognito Ingress', async () => {
    const kube = kubeflowCluster();
    kube.seed(handMadePolicy('allow-predictor'));
    kube.seed(handMadePolicy('allow-transformer'));
    const out = await configureCluster(input(cognitoRequest()), deps(kube));
    expect(out.actions.slice(1, 3).map((a) => a.action)).toEqual(['none', 'none']);
    expect(kube.peek(authorizationPolicyRef('allow-predictor'))!.metadata.labels).toBeUndefined();

    const other = kubeflowCluster();
    other.seed({ ...kubeflowIngress(), metadata: { ...kubeflowIngress().metadata, name: 'istio-ingress-api' } });
    await expect(configureCluster(input(cognitoRequest()), deps(other))).rejects.toThrow(ObjectOwnedByAnotherError);
    expect(other.writes).toBe(0);
  });

  it('adopt=true takes a hand-made Cognito Ingress over from kubectl', async () => {
    const kube = kubeflowCluster();
    kube.seed({ ...kubeflowIngress(), metadata: { ...kubeflowIngress().metadata, name: 'istio-ingress-api' } });
    const out = await configureCluster(input(cognitoRequest({ adopt: true })), deps(kube));
    expect(out.actions[3]).toMatchObject({ action: 'apply', reason: expect.stringMatching(/adopt/) });
    const ref = ingressRefFor(cognitoRequest());
    expect(kube.peek(ref)!.metadata.labels).toMatchObject({ 'kserve-edge.io/owner': 'kserve-edge' });
    expect(kube.fieldManagers(ref)['metadata.annotations.alb.ingress.kubernetes.io/certificate-arn']).toEqual(['kserve-edge']);
  });

  it("Dex: adds our certificate to Kubeflow's istio-ingress after the dashboard's, touching nothing else", async () => {
    const kube = kubeflowCluster({ dex: true });
    const ref = ingressRefFor(dexRequest());
    kube.setStatus(ref, kubeflowIngress().status);
    const before = kube.peek(ref)!;
    kube.seed({
      ...before,
      metadata: {
        ...before.metadata,
        annotations: { ...before.metadata.annotations, 'alb.ingress.kubernetes.io/certificate-arn': `${ARN_FOREIGN},${ARN_STALE}` },
      },
    });

    const out = await configureCluster(
      input(dexRequest(), [ARN_A, ARN_B], [ARN_A, ARN_B, ARN_STALE]),
      deps(kube, { secrets: new FakeSecrets() }),
    );
    expect(out.ingress).toEqual({ namespace: 'istio-system', name: 'istio-ingress' });
    const after = kube.peek(ref)!;
    expect(after.metadata.annotations!['alb.ingress.kubernetes.io/certificate-arn']).toBe(`${ARN_FOREIGN},${ARN_A},${ARN_B}`);
    expect(after.metadata.labels).toEqual({ 'kustomize.component': 'istio-ingress' });
    expect(after.spec).toEqual(before.spec);
    const managers = kube.fieldManagers(ref);
    expect(managers['metadata.annotations.alb.ingress.kubernetes.io/certificate-arn']).toEqual(['kserve-edge']);
    expect(managers['metadata.annotations.alb.ingress.kubernetes.io/scheme']).toEqual(['kubectl-client-side-apply']);
    expect(managers.spec).toEqual(['kubectl-client-side-apply']);

    const again = await configureCluster(
      input(dexRequest(), [ARN_A, ARN_B], [ARN_A, ARN_B, ARN_STALE]),
      deps(kube, { secrets: new FakeSecrets() }),
    );
    expect(again.actions.map((a) => a.action)).toEqual(['none', 'none', 'none', 'none']);
  });

  it('maps an unreachable cluster and RBAC refusals through', async () => {
    const down = kubeflowCluster();
    down.unreachable = true;
    await expect(configureCluster(input(cognitoRequest()), deps(down))).rejects.toThrow(ClusterUnreachableError);

    const rbac = kubeflowCluster();
    rbac.forbid('patch', 'Ingress');
    await expect(configureCluster(input(cognitoRequest()), deps(rbac))).rejects.toThrow(AccessDeniedError);
  });
});

describe('getLoadBalancerAddress', () => {
  const request = cognitoRequest({ deadlines: { loadBalancerSeconds: 600 } });
  const ingress = { namespace: 'istio-system', name: 'istio-ingress-api' };
  const configuredAt = NOW.toISOString();

  async function configured(): Promise<FakeKube> {
    const kube = kubeflowCluster();
    await configureCluster(input(request), deps(kube));
    return kube;
  }

  it('waits with a growing interval until the controller publishes the hostname', async () => {
    const kube = await configured();
    expect(await getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(0) })).toEqual({
      ready: false,
      waitSeconds: 5,
      elapsedSeconds: 0,
    });
    expect(await getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(200) })).toEqual({
      ready: false,
      waitSeconds: 50,
      elapsedSeconds: 200,
    });
    kube.setStatus(ingressRefFor(request), {
      loadBalancer: { ingress: [{ hostname: 'k8s-istiosys-istioing-abc-1.us-west-2.elb.amazonaws.com' }] },
    });
    expect(await getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(260) })).toEqual({
      ready: true,
      hostname: 'k8s-istiosys-istioing-abc-1.us-west-2.elb.amazonaws.com',
      waitSeconds: 0,
      elapsedSeconds: 260,
    });
  });

  it('never waits past the deadline, then fails with LoadBalancerTimeout', async () => {
    const kube = await configured();
    const near = await getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(590) });
    expect(near.ready).toBe(false);
    expect(590 + near.waitSeconds).toBeLessThanOrEqual(601);
    await expect(getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(601) })).rejects.toThrow(
      LoadBalancerTimeoutError,
    );
  });

  it('fails at once when the Ingress is gone', async () => {
    const kube = kubeflowCluster();
    await expect(getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(10) })).rejects.toThrow(/not found/);
    await expect(getLoadBalancerAddress({ request, ingress, configuredAt }, { kube, now: at(10) })).rejects.toMatchObject({
      name: 'PrerequisiteMissing',
      missing: 'Ingress istio-system/istio-ingress-api',
    });
  });
});

describe('getLoadBalancerAddress with what ConfigureCluster wrote (#10 §4.3)', () => {
  const request = cognitoRequest({ deadlines: { loadBalancerSeconds: 600 } });
  const ingress = { namespace: 'istio-system', name: 'istio-ingress-api' };
  const configuredAt = NOW.toISOString();
  const OLD_NAME = 'k8s-istiosys-istioing-abc-1.us-west-2.elb.amazonaws.com';
  const NEW_NAME = 'k8s-istiosys-istioing-def-2.us-west-2.elb.amazonaws.com';

  /** ELBv2 as the controller left it: load balancers by DNS name, each with its HTTPS:443 listener's certificates. */
  function elbv2(lbs: Record<string, { scheme: string; certificates?: string[] }>): LoadBalancersPort & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      async findByDnsName(dnsName) {
        calls.push(`DescribeLoadBalancers ${dnsName}`);
        const lb = lbs[dnsName];
        return lb ? { arn: `lb/${dnsName}`, dnsName, scheme: lb.scheme } : undefined;
      },
      async listListeners(arn) {
        calls.push(`DescribeListeners ${arn}`);
        const lb = lbs[arn.slice(3)];
        return lb?.certificates
          ? [{ arn: `${arn}/443`, port: 443, protocol: 'HTTPS' }]
          : [{ arn: `${arn}/80`, port: 80, protocol: 'HTTP' }];
      },
      async listListenerCertificates(arn) {
        calls.push(`DescribeListenerCertificates ${arn}`);
        return lbs[arn.slice(3, -4)]?.certificates ?? [];
      },
    };
  }

  function event(reason: string, message: string, secondsAfterNow: number): KubeObject {
    const t = new Date(NOW.getTime() + secondsAfterNow * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `istio-ingress-api.${reason}.${secondsAfterNow}`, namespace: 'istio-system' },
      involvedObject: { kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress-api' },
      reason,
      message,
      type: reason === 'SuccessfullyReconciled' ? 'Normal' : 'Warning',
      lastTimestamp: t,
    };
  }

  async function written(certificateArns = [ARN_A]) {
    const kube = kubeflowCluster();
    const out = await configureCluster(input(request, certificateArns), deps(kube));
    return { kube, expected: out.expected! };
  }

  it("a hostname whose ALB lacks this run's certificate is not ready; ready once the listener has it", async () => {
    const { kube, expected } = await written([ARN_A, ARN_B]);
    kube.setStatus(ingressRefFor(request), { loadBalancer: { ingress: [{ hostname: OLD_NAME }] } });
    const stale = elbv2({ [OLD_NAME]: { scheme: 'internet-facing', certificates: [ARN_A] } });
    const waiting = await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: stale, now: at(20) });
    expect(waiting).toMatchObject({ ready: false, elapsedSeconds: 20, reason: expect.stringContaining(ARN_B) });
    expect(stale.calls).toEqual([
      `DescribeLoadBalancers ${OLD_NAME}`,
      `DescribeListeners lb/${OLD_NAME}`,
      `DescribeListenerCertificates lb/${OLD_NAME}/443`,
    ]);

    const served = elbv2({ [OLD_NAME]: { scheme: 'internet-facing', certificates: [ARN_A, ARN_B] } });
    expect(
      await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: served, now: at(25) }),
    ).toEqual({
      ready: true,
      hostname: OLD_NAME,
      waitSeconds: 0,
      elapsedSeconds: 25,
    });
  });

  it('a scheme change: waits while the status names the old ALB, then takes the new one', async () => {
    const { kube, expected } = await written();
    kube.setStatus(ingressRefFor(request), { loadBalancer: { ingress: [{ hostname: `internal-${OLD_NAME}` }] } });
    const lbs = {
      [`internal-${OLD_NAME}`]: { scheme: 'internal', certificates: [ARN_A] },
      [NEW_NAME]: { scheme: 'internet-facing', certificates: [ARN_A] },
    };
    const first = await getLoadBalancerAddress(
      { request, ingress, configuredAt, expected },
      { kube, loadBalancers: elbv2(lbs), now: at(5) },
    );
    expect(first).toMatchObject({ ready: false, reason: expect.stringMatching(/is internal, the Ingress asks for internet-facing/) });
    kube.setStatus(ingressRefFor(request), { loadBalancer: { ingress: [{ hostname: NEW_NAME }] } });
    expect(
      await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: elbv2(lbs), now: at(10) }),
    ).toMatchObject({
      ready: true,
      hostname: NEW_NAME,
    });
  });

  it('the controller refused the write: LoadBalancerRejected with its message, before the deadline', async () => {
    const { kube, expected } = await written([ARN_A, ARN_B]);
    kube.setStatus(ingressRefFor(request), { loadBalancer: { ingress: [{ hostname: OLD_NAME }] } });
    const message = `Failed deploy model due to CertificateNotFound: Certificate '${ARN_B}' not found`;
    kube.seed(event('FailedDeployModel', message, 2));
    const lbs = elbv2({ [OLD_NAME]: { scheme: 'internet-facing', certificates: [ARN_A] } });
    // Within the settle time a reconcile of the next version may still succeed: keep waiting.
    expect(
      await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: lbs, now: at(5) }),
    ).toMatchObject({ ready: false });
    const err = await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: lbs, now: at(15) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LoadBalancerRejectedError);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).toContain('FailedDeployModel');
  });

  it('a refusal from before the write, or one a success followed, does not end the run', async () => {
    const { kube, expected } = await written();
    kube.setStatus(ingressRefFor(request), { loadBalancer: { ingress: [{ hostname: OLD_NAME }] } });
    kube.seed(event('FailedBuildModel', 'Failed build model due to an earlier annotation', -30));
    const lbs = elbv2({ [OLD_NAME]: { scheme: 'internet-facing', certificates: [] } });
    expect(
      await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: lbs, now: at(60) }),
    ).toMatchObject({ ready: false });
    kube.seed(event('FailedDeployModel', 'Failed deploy model due to a reconcile of the previous version', 1));
    kube.seed(event('SuccessfullyReconciled', 'Successfully reconciled', 3));
    expect(
      await getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: lbs, now: at(60) }),
    ).toMatchObject({ ready: false });
  });

  it('times out with what the ALB still lacks', async () => {
    const { kube, expected } = await written();
    kube.setStatus(ingressRefFor(request), { loadBalancer: { ingress: [{ hostname: OLD_NAME }] } });
    await expect(
      getLoadBalancerAddress({ request, ingress, configuredAt, expected }, { kube, loadBalancers: elbv2({}), now: at(601) }),
    ).rejects.toThrow(/no load balancer serving it after 601s \(deadline 600s\): ELBv2 has no load balancer named/);
  });

  it("Dex: expects every certificate on Kubeflow's Ingress, the foreign ones too, and its own scheme", async () => {
    const kube = kubeflowCluster({ dex: true });
    const out = await configureCluster(input(dexRequest(), [ARN_A], [ARN_A]), deps(kube));
    expect(out.expected).toMatchObject({ certificateArns: [ARN_FOREIGN, ARN_A] });
    expect(out.expected!.scheme).toBe(
      kube.peek(ingressRefFor(dexRequest()))!.metadata.annotations!['alb.ingress.kubernetes.io/scheme'] ?? 'internal',
    );
  });
});

describe('configureCluster under a concurrent edit', () => {
  it('re-reads and re-plans when a guarded patch is refused because config-domain changed after the read', async () => {
    // Prepare: someone (a racing run) sets the domain between our read and our patch.
    const kube = kubeflowCluster();
    const realPatch = kube.jsonPatch.bind(kube);
    let raced = false;
    kube.jsonPatch = async (ref, ops, options) => {
      if (!raced) {
        raced = true;
        await realPatch(
          ref,
          [
            { op: 'remove', path: '/data/_example' },
            { op: 'add', path: '/data/platform.example.com', value: '' },
          ],
          { fieldManager: 'kserve-edge' },
        );
      }
      return realPatch(ref, ops, options);
    };

    // Act
    const out = await configureCluster(input(cognitoRequest()), deps(kube));

    // Assess: the second round found config-domain already right and left it alone.
    expect(raced).toBe(true);
    expect(out.actions.find((a) => a.kind === 'ConfigMap')).toMatchObject({ action: 'none' });
    expect((await kube.get(CONFIG_DOMAIN_REF))?.data).toEqual({ 'platform.example.com': '' });
  });
});
