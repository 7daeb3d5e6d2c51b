/**
 * Issue 10, defects 2 and 4: which certificates the ALB listener carries.
 *
 * A run used to put exactly its own certificates on the listener, so
 * `provision [staging, prod]` then `provision [staging]` took prod's off (prod
 * then failed TLS with its DNS record still pointing at the ALB), and of two
 * overlapping runs the later overwrote the earlier. The list is now computed
 * when ConfigureCluster applies, from what is provisioned, and the write is
 * guarded. The shared (Dex) Ingress counts foreign certificates against the quota.
 */
import { InvalidRequestError, PrerequisiteMissingError } from '../../../shared/errors';
import { clearSecrets, silentLogger } from '../../../shared/log';
import { TAG_DOMAIN, TAG_OWNER, TAG_SCOPE } from '../../../shared/ownership';
import {
  ANNOTATION_CERTIFICATE_ARN,
  certificateNamespaces,
  desiredClusterState,
  ingressRefFor,
  planCluster,
  planListenerCertificates,
  splitArns,
  type ListenerCertificatesInput,
} from '../../../shared/plan/cluster';
import type { CertificateDetail, KubeObject, KubePort } from '../../../shared/ports';
import type { ProvisionRequest } from '../../../shared/request';
import { configureCluster } from '../../../shared/steps/configureCluster';
import { deprovisionNamespace } from '../../../shared/steps/deprovisionNamespace';
import { ensureCertificates } from '../../../shared/steps/ensureCertificates';
import { upsertDnsRecords } from '../../../shared/steps/upsertDnsRecords';
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeKube } from '../../fakes/FakeKube';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { STRONG_TOKEN, validated } from '../../fixtures/requests';
import { albIngressClass, ARN_FOREIGN, editedConfigDomain, kubeflowIngress, stockConfigDomain } from './fixtures';

const DOMAIN = 'platform.example.com';
const OWNER = 'kserve-edge';
const arn = (id: string): string => `arn:aws:acm:us-west-2:111122223333:certificate/${id}`;

function cert(id: string, names: string[], extra: Partial<CertificateDetail> = {}): CertificateDetail {
  const scope = names[0] === `*.${DOMAIN}` ? 'base' : `namespace:${names[0]!.split('.')[1]}`;
  return {
    arn: arn(id),
    domainName: names[0]!,
    names,
    status: 'ISSUED',
    validationRecords: [],
    namesWithoutRecord: [],
    inUseBy: [],
    tags: { [TAG_OWNER]: OWNER, [TAG_DOMAIN]: DOMAIN, [TAG_SCOPE]: scope },
    createdAt: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

const BASE = cert('base', [`*.${DOMAIN}`]);
const STAGING = cert('staging', [`*.staging.${DOMAIN}`]);
const PROD = cert('prod', [`*.prod.${DOMAIN}`]);

function input(overrides: Partial<ListenerCertificatesInput> = {}): ListenerCertificatesInput {
  return {
    domain: DOMAIN,
    ingressMode: 'owned',
    runNamespaces: ['staging'],
    runArns: [BASE.arn, STAGING.arn],
    owned: [BASE, STAGING, PROD],
    current: [BASE.arn, STAGING.arn, PROD.arn],
    activeNamespaces: new Set(['staging', 'prod']),
    provisionedNamespaces: new Set(['staging', 'prod']),
    ...overrides,
  };
}

afterEach(() => clearSecrets());

describe('planListenerCertificates', () => {
  it('a run for [staging] keeps prod, which is provisioned and active, after its own certificates', () => {
    const plan = planListenerCertificates(input());
    expect(plan.arns).toEqual([BASE.arn, STAGING.arn, PROD.arn]);
    expect(plan.changes).toEqual([
      { arn: BASE.arn, action: 'keep', owner: 'ours', namespaces: [], reason: "this run's certificate (listener default)" },
      { arn: STAGING.arn, action: 'keep', owner: 'ours', namespaces: ['staging'], reason: "this run's certificate for staging" },
      {
        arn: PROD.arn,
        action: 'keep',
        owner: 'ours',
        namespaces: ['prod'],
        reason: 'namespace prod is still provisioned (ownership record ours) and active',
      },
    ]);
  });

  it('puts back the certificate of a provisioned namespace that an earlier run took off', () => {
    const plan = planListenerCertificates(input({ current: [BASE.arn, STAGING.arn] }));
    expect(plan.arns).toEqual([BASE.arn, STAGING.arn, PROD.arn]);
    expect(plan.changes.find((c) => c.arn === PROD.arn)).toMatchObject({ action: 'add' });
  });

  it('keeps a certificate another run put on the listener before it wrote its DNS records (no ownership record yet)', () => {
    const plan = planListenerCertificates(input({ provisionedNamespaces: new Set(['staging']) }));
    expect(plan.arns).toContain(PROD.arn);
    expect(plan.changes.find((c) => c.arn === PROD.arn)?.reason).toBe(
      'namespace prod is still served (its certificate is on the listener) and active',
    );
  });

  it('leaves the certificate of a namespace that is gone or terminating for deprovisioning, and never puts it back', () => {
    const active = new Set(['staging']);
    const plan = planListenerCertificates(input({ activeNamespaces: active }));
    expect(plan.arns).toEqual([BASE.arn, STAGING.arn, PROD.arn]);
    expect(plan.changes.find((c) => c.arn === PROD.arn)).toEqual({
      arn: PROD.arn,
      action: 'keep',
      owner: 'ours',
      namespaces: ['prod'],
      reason: 'namespace prod is gone or terminating: left for deprovisioning to take off',
    });
    // Once deprovisioning took it off, no run puts it back, provisioned marker or not.
    expect(planListenerCertificates(input({ activeNamespaces: active, current: [BASE.arn, STAGING.arn] })).arns).toEqual([
      BASE.arn,
      STAGING.arn,
    ]);
  });

  it('adds nothing for a namespace that is neither provisioned nor on the listener, nor a certificate that is not issued', () => {
    const notProvisioned = planListenerCertificates(input({ current: [], provisionedNamespaces: new Set(['staging']) }));
    expect(notProvisioned.arns).toEqual([BASE.arn, STAGING.arn]);
    expect(notProvisioned.changes.map((c) => c.arn)).toEqual([BASE.arn, STAGING.arn]);
    const pending = planListenerCertificates(input({ owned: [BASE, STAGING, { ...PROD, status: 'PENDING_VALIDATION' }], current: [] }));
    expect(pending.arns).toEqual([BASE.arn, STAGING.arn]);
  });

  it('keeps the one on the listener among several issued for a namespace, and removes a replaced one of ours with the reason', () => {
    const newer = cert('prod-2', [`*.prod.${DOMAIN}`], { createdAt: '2026-02-01T00:00:00Z' });
    const kept = planListenerCertificates(input({ owned: [BASE, STAGING, PROD, newer] }));
    expect(kept.arns).toEqual([BASE.arn, STAGING.arn, PROD.arn]);
    const oldStaging = cert('staging-old', [`*.staging.${DOMAIN}`]);
    const plan = planListenerCertificates(
      input({ owned: [BASE, STAGING, PROD, oldStaging], current: [BASE.arn, oldStaging.arn, PROD.arn] }),
    );
    expect(plan.arns).toEqual([BASE.arn, STAGING.arn, PROD.arn]);
    expect(plan.changes.find((c) => c.arn === oldStaging.arn)).toMatchObject({
      action: 'remove',
      reason: "replaced: staging served by this run's certificate",
    });
    expect(plan.changes.find((c) => c.arn === STAGING.arn)).toMatchObject({ action: 'add' });
  });

  it('keeps foreign certificates first on the shared Ingress; removes them from our own Ingress', () => {
    const shared = planListenerCertificates(input({ ingressMode: 'shared', current: [ARN_FOREIGN, BASE.arn, STAGING.arn, PROD.arn] }));
    expect(shared.foreign).toEqual([ARN_FOREIGN]);
    expect(shared.changes[0]).toMatchObject({ arn: ARN_FOREIGN, action: 'keep', owner: 'foreign' });
    const owned = planListenerCertificates(input({ current: [ARN_FOREIGN, BASE.arn] }));
    expect(owned.changes[0]).toMatchObject({ arn: ARN_FOREIGN, action: 'remove', owner: 'foreign' });
  });

  it('in single mode a namespace served by this run is not served twice; another run’s single certificate is kept for its own namespaces', () => {
    const mine = cert('single-a', [`*.${DOMAIN}`, `*.staging.${DOMAIN}`]);
    const theirs = cert('single-b', [`*.${DOMAIN}`, `*.staging.${DOMAIN}`, `*.prod.${DOMAIN}`], { createdAt: '2025-12-01T00:00:00Z' });
    const plan = planListenerCertificates(input({ runArns: [mine.arn], owned: [mine, theirs], current: [theirs.arn] }));
    expect(plan.arns).toEqual([mine.arn, theirs.arn]);
    expect(certificateNamespaces(theirs, DOMAIN)).toEqual(['prod', 'staging']);
  });

  it('refuses, before any write, a listener that would exceed 26 certificates counting the foreign ones (defect 4)', () => {
    const foreign = Array.from({ length: 20 }, (_, i) => arn(`foreign-${i}`));
    const nsCerts = Array.from({ length: 6 }, (_, i) => cert(`ns-${i}`, [`*.ns${i}.${DOMAIN}`]));
    const runNamespaces = nsCerts.map((_, i) => `ns${i}`);
    const base = {
      runNamespaces,
      runArns: [BASE.arn, ...nsCerts.map((c) => c.arn)],
      owned: [BASE, ...nsCerts],
      activeNamespaces: new Set(runNamespaces),
    };
    // 7 of ours alone fit; with 20 foreign on the shared listener they do not.
    expect(planListenerCertificates(input({ ...base, ingressMode: 'shared', current: [] })).arns).toHaveLength(7);
    const run = () => planListenerCertificates(input({ ...base, ingressMode: 'shared', current: foreign }));
    expect(run).toThrow(InvalidRequestError);
    expect(run).toThrow('the listener would hold 27 certificates (20 not ours, 7 of kserve-edge); an ALB listener takes at most 26');
  });
});

describe('planCluster: the shared Ingress quota, the Ingress class and the guarded write', () => {
  const dexRequestFor = (namespaces: string[]) =>
    validated('Z1', { namespaces, auth: { provider: 'dex', loginSecretId: 'kserve-edge/dex-login' } });
  const state = (ingress: KubeObject | undefined, ingressClass: KubeObject | null = albIngressClass()) => ({
    configDomain: editedConfigDomain(),
    authorizationPolicies: {},
    ingress,
    ingressClass: ingressClass ?? undefined,
  });

  it('counts the foreign certificates already on Kubeflow’s Ingress against the 26 (defect 4)', () => {
    const foreign = Array.from({ length: 21 }, (_, i) => arn(`foreign-${i}`)).join(',');
    const ours = Array.from({ length: 6 }, (_, i) => arn(`ours-${i}`));
    const desired = desiredClusterState({ request: dexRequestFor(['a']), certificateArns: ours });
    const plan = () => planCluster(state(kubeflowIngress(foreign)), desired, { ownerId: OWNER, adopt: false });
    expect(plan).toThrow(InvalidRequestError);
    expect(plan).toThrow(/would hold 27 certificates \(21 not ours, 6 of kserve-edge\)/);
    expect(() =>
      planCluster(
        state(kubeflowIngress(foreign)),
        desiredClusterState({ request: dexRequestFor(['a']), certificateArns: ours.slice(0, 5) }),
        { ownerId: OWNER, adopt: false },
      ),
    ).not.toThrow();
  });

  it('guards the Ingress write: the resourceVersion read, or "absent" for a create', () => {
    const request = validated('Z1');
    const desired = desiredClusterState({ request, certificateArns: [BASE.arn], headerValues: [STRONG_TOKEN] });
    const create = planCluster(state(undefined), desired, { ownerId: OWNER, adopt: false });
    expect(create[3]).toMatchObject({ action: 'apply', reason: 'create', precondition: 'absent' });
    const existing = {
      ...structuredClone(desired.ingress),
      metadata: { ...structuredClone(desired.ingress.metadata), resourceVersion: '42' },
    };
    const other = desiredClusterState({ request, certificateArns: [BASE.arn, STAGING.arn], headerValues: [STRONG_TOKEN] });
    expect(planCluster(state(existing), other, { ownerId: OWNER, adopt: false })[3]).toMatchObject({
      action: 'apply',
      precondition: { resourceVersion: '42' },
    });
    const dex = desiredClusterState({ request: dexRequestFor(['a']), certificateArns: [BASE.arn] });
    const shared = { ...kubeflowIngress(), metadata: { ...kubeflowIngress().metadata, resourceVersion: '7' } };
    expect(planCluster(state(shared), dex, { ownerId: OWNER, adopt: false })[3]).toMatchObject({
      action: 'apply',
      precondition: { resourceVersion: '7' },
    });
  });

  it('names the class in spec.ingressClassName, and needs the IngressClass alb of the AWS Load Balancer Controller (defect 10)', () => {
    const desired = desiredClusterState({ request: validated('Z1'), certificateArns: [BASE.arn], headerValues: [STRONG_TOKEN] });
    const plan = planCluster(state(undefined), desired, { ownerId: OWNER, adopt: false });
    expect((plan[3]!.object!.spec as { ingressClassName?: string }).ingressClassName).toBe('alb');
    expect(plan[3]!.object!.metadata.annotations).not.toHaveProperty(['kubernetes.io/ingress.class']);
    for (const cls of [null, albIngressClass('nginx.org/ingress-controller')]) {
      const err = (() => {
        try {
          planCluster(state(undefined, cls), desired, { ownerId: OWNER, adopt: false });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(PrerequisiteMissingError);
      expect((err as PrerequisiteMissingError).missing).toBe('IngressClass alb (controller ingress.k8s.aws/alb)');
    }
  });

  it('keeps the class annotation on an Ingress of ours that already uses it (no spec.ingressClassName beside it)', () => {
    const request = validated('Z1');
    const desired = desiredClusterState({ request, certificateArns: [BASE.arn], headerValues: [STRONG_TOKEN] });
    const legacy = structuredClone(desired.ingress);
    legacy.metadata.annotations = { 'kubernetes.io/ingress.class': 'alb', ...legacy.metadata.annotations };
    delete (legacy.spec as { ingressClassName?: string }).ingressClassName;
    // Up to date as it is; the IngressClass is not even needed for it.
    expect(planCluster(state(legacy, null), desired, { ownerId: OWNER, adopt: false })[3]).toMatchObject({ action: 'none' });
    const more = desiredClusterState({ request, certificateArns: [BASE.arn, STAGING.arn], headerValues: [STRONG_TOKEN] });
    const step = planCluster(state(legacy, null), more, { ownerId: OWNER, adopt: false })[3]!;
    expect(step.action).toBe('apply');
    expect(step.object!.metadata.annotations!['kubernetes.io/ingress.class']).toBe('alb');
    expect(step.object!.spec).not.toHaveProperty('ingressClassName');
  });
});

// ------------------------------------------------------------------ the step, with the other steps around it

/** An account and a Kubeflow cluster with the namespaces staging and prod. */
function world(provider: 'cognito' | 'dex', limits?: Record<string, number>) {
  const route53 = new InMemoryRoute53({ pendingPolls: 0 });
  const zone = route53.addZone(DOMAIN);
  const acm = new FakeAcm();
  const secrets = new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: [STRONG_TOKEN] } });
  const kube = new FakeKube([
    { object: stockConfigDomain(), manager: 'kubectl-client-side-apply' },
    { object: albIngressClass(), manager: 'helm' },
    ...['staging', 'prod'].map((name) => ({ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as KubeObject })),
  ]);
  if (provider === 'dex') kube.seed(kubeflowIngress(ARN_FOREIGN));
  const auth = provider === 'dex' ? { provider: 'dex' as const, loginSecretId: 'kserve-edge/dex-login' } : undefined;
  const requestFor = (namespaces: string[]) => validated(zone.id, auth ? { namespaces, auth } : { namespaces });
  const now = () => new Date('2026-01-01T00:00:00Z');
  // The account's ELBv2 quotas, as DescribeAccountLimits reports them (only the call the step makes).
  const loadBalancers = limits
    ? {
        findByDnsName: () => Promise.resolve(undefined),
        listListeners: () => Promise.resolve([]),
        listListenerCertificates: () => Promise.resolve([]),
        accountLimits: () => Promise.resolve(limits),
      }
    : undefined;
  const deps = (k: KubePort = kube) => ({
    kube: k,
    secrets,
    acm,
    route53,
    log: silentLogger,
    now,
    ...(loadBalancers ? { loadBalancers } : {}),
  });
  /** EnsureCertificates (issued at once), then ConfigureCluster through `k`. */
  const configure = async (request: ProvisionRequest, k: KubePort = kube) => {
    const certificates = await ensureCertificates({ request, runId: 'r' }, { acm, log: silentLogger, now });
    for (const item of certificates.items) acm.issue(item.arn);
    return configureCluster(
      {
        request,
        certificateArns: certificates.items.map((i) => i.arn),
        certificateNames: certificates.items.map((i) => i.names),
        ownedArns: certificates.ownedArns,
      },
      deps(k),
    );
  };
  const dns = (request: ProvisionRequest & { hostedZoneId: string }) =>
    upsertDnsRecords({ request, loadBalancer: { hostname: 'alb.example.elb.amazonaws.com' } }, { route53, log: silentLogger, now });
  const listener = (request: ProvisionRequest): string[] =>
    splitArns(kube.peek(ingressRefFor(request))?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]);
  /** Our certificate for a namespace (there is one per namespace here). */
  const certFor = async (ns: string): Promise<string> =>
    (await acm.listOwnedCertificates(OWNER)).find((c) => c.tags[TAG_SCOPE] === `namespace:${ns}`)!.arn;
  return { acm, kube, route53, requestFor, configure, dns, listener, certFor };
}

describe('configureCluster: the shared Ingress quota (defect 4)', () => {
  const foreign = Array.from({ length: 20 }, (_, i) => arn(`foreign-${i}`));
  const namespaces = ['staging', 'prod', 'ns-a', 'ns-b', 'ns-c', 'ns-d'];

  it('a run whose certificates and the foreign ones exceed 26 on Kubeflow’s Ingress: the rest go to ALB shard 1 (issue 11)', async () => {
    const w = world('dex');
    w.kube.seed(kubeflowIngress(foreign.join(',')));
    const request = w.requestFor(namespaces);
    const out = await w.configure(request);
    // Shard 0 is full: 20 not ours + *.<domain> + 5 namespaces = the default + 25 SNI.
    expect(w.listener(request)).toHaveLength(26);
    expect(w.listener(request).slice(0, 20)).toEqual(foreign);
    const shard1 = w.kube.peek(ingressRefFor(request, 1))!;
    expect(shard1.metadata.name).toBe('istio-ingress-shard-1');
    expect(splitArns(shard1.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN])).toEqual([
      w.listener(request)[20],
      await w.certFor('ns-d'),
    ]);
    expect(out.shards?.map((s) => [s.index, s.ingress.name, s.namespaces])).toEqual([
      [0, 'istio-ingress', ['staging', 'prod', 'ns-a', 'ns-b', 'ns-c']],
      [1, 'istio-ingress-shard-1', ['ns-d']],
    ]);
  });

  it('refuses, with InvalidRequest naming the quota and before any write, more ALBs than the account allows', async () => {
    const w = world('dex', { 'certificates-per-application-load-balancer': 25, 'application-load-balancers': 1 });
    w.kube.seed(kubeflowIngress(foreign.join(',')));
    const writes = w.kube.writes;
    const err = await w.configure(w.requestFor(namespaces)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(/2 ALBs; the account's quota application-load-balancers is 1/);
    expect(w.kube.writes).toBe(writes);
    // One namespace fewer fits.
    await w.configure(w.requestFor(namespaces.slice(0, 5)));
    expect(w.listener(w.requestFor(namespaces))).toHaveLength(26);
  });

  it('reads the certificates-per-ALB quota: 2 namespaces per shard when the account says 2', async () => {
    const w = world('cognito', { 'certificates-per-application-load-balancer': 2, 'application-load-balancers': 20 });
    const request = w.requestFor(['staging', 'prod', 'ns-a', 'ns-b', 'ns-c']);
    const out = await w.configure(request);
    expect(out.shards?.map((s) => s.namespaces)).toEqual([['staging', 'prod'], ['ns-a', 'ns-b'], ['ns-c']]);
    for (const i of [0, 1, 2]) {
      expect(
        splitArns(w.kube.peek(ingressRefFor(request, i))!.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]).length,
      ).toBeLessThanOrEqual(3);
    }
    // Stable: a rerun without ns-a changes no shard of the others.
    const again = await w.configure(w.requestFor(['staging', 'prod', 'ns-b', 'ns-c']));
    expect(again.shards?.map((s) => [s.index, s.namespaces])).toEqual([
      [0, ['staging', 'prod']],
      [1, ['ns-b']],
      [2, ['ns-c']],
    ]);
  });
});

describe.each(['cognito', 'dex'] as const)('configureCluster (%s): other namespaces stay on the listener', (provider) => {
  it('provision [staging, prod], then [staging]: prod keeps its certificate (defect 2, sequential)', async () => {
    const w = world(provider);
    const both = w.requestFor(['staging', 'prod']);
    await w.configure(both);
    await w.dns(both);
    const prod = await w.certFor('prod');
    expect(w.listener(both)).toContain(prod);

    const out = await w.configure(w.requestFor(['staging']));
    expect(w.listener(both)).toContain(prod);
    expect(w.listener(both)).toContain(await w.certFor('staging'));
    expect(out.certificates.find((c) => c.arn === prod)).toMatchObject({
      action: 'keep',
      namespaces: ['prod'],
      reason: 'namespace prod is still provisioned (ownership record ours) and active',
    });
    if (provider === 'dex') expect(w.listener(both)[0]).toBe(ARN_FOREIGN);
  });

  it('once prod is deleted, runs leave its certificate to deprovisioning and never put it back', async () => {
    const w = world(provider);
    const both = w.requestFor(['staging', 'prod']);
    await w.configure(both);
    await w.dns(both);
    const prod = await w.certFor('prod');
    await w.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'prod' });
    const out = await w.configure(w.requestFor(['staging']));
    expect(w.listener(both)).toContain(prod);
    expect(out.certificates.find((c) => c.arn === prod)).toMatchObject({
      action: 'keep',
      reason: expect.stringMatching(/left for deprovisioning/),
    });

    const gone = await deprovisionNamespace(
      { request: w.requestFor(['staging']), namespace: 'prod' },
      { route53: w.route53, acm: w.acm, kube: w.kube, log: silentLogger, now: () => new Date('2026-01-01T00:00:00Z') },
    );
    expect(gone.removedFromIngress).toEqual([prod]);
    await w.configure(w.requestFor(['staging']));
    expect(w.listener(both)).not.toContain(prod);
  });

  it.each([
    ['staging applies last', 'staging', 'prod'],
    ['prod applies last', 'prod', 'staging'],
  ])('two overlapping runs: %s, and both namespaces end on the listener (defect 2, overlap)', async (_name, late, early) => {
    const w = world(provider);
    const lateRequest = w.requestFor([late]);
    const earlyRequest = w.requestFor([early]);
    // The late run reads and plans; before it writes the Ingress, the early run does all of ConfigureCluster.
    let interleaved = false;
    const racing: KubePort = {
      get: (ref) => w.kube.get(ref),
      list: (...args) => w.kube.list(...args),
      jsonPatch: (...args) => w.kube.jsonPatch(...args),
      delete: (ref) => w.kube.delete(ref),
      apply: async (obj, options) => {
        if (obj.kind === 'Ingress' && !interleaved) {
          interleaved = true;
          await w.configure(earlyRequest);
        }
        return w.kube.apply(obj, options);
      },
    };
    // The early run must have its certificates before the late one plans, as it would in a real overlap.
    await ensureCertificates({ request: earlyRequest, runId: 'early' }, { acm: w.acm, log: silentLogger, now: () => new Date() });
    for (const a of w.acm.arns()) w.acm.issue(a);
    await w.configure(lateRequest, racing);
    expect(interleaved).toBe(true);
    const onListener = w.listener(lateRequest);
    expect(onListener).toContain(await w.certFor('staging'));
    expect(onListener).toContain(await w.certFor('prod'));
  });
});
