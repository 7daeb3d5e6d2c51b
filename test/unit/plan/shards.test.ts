import { ownedLabels, ownershipRecordName, ownershipRecordValue, TAG_DOMAIN, TAG_OWNER, TAG_SCOPE } from '../../../shared/ownership';
import { ANNOTATION_CERTIFICATE_ARN } from '../../../shared/plan/cluster';
import { planDeprovision, type DeprovisionCurrent } from '../../../shared/plan/deprovision';
import {
  batchValueCharacters,
  batchWeight,
  ROUTE53_MAX_BATCH_VALUE_CHARACTERS,
  ROUTE53_MAX_BATCH_WEIGHT,
  splitIntoBatches,
} from '../../../shared/plan/records';
import type { CertificateDetail, KubeObject } from '../../../shared/ports';
import {
  assignShards,
  shardCapacity,
  shardIndexOf,
  shardIngressName,
  shardRemovable,
  shardsNeeded,
  type ShardView,
} from '../../../shared/plan/shards';

const ns = (n: number, prefix = 'team'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

/** The shards as they would be read back after applying an assignment. */
function viewsOf(a: ReturnType<typeof assignShards>): ShardView[] {
  return a.shards
    .filter((s) => s.namespaces.length > 0 || s.index === 0)
    .map((s) => ({ index: s.index, namespaces: s.namespaces, foreign: 0 }));
}

describe('shard names', () => {
  it('shard 0 keeps the name of today; others get a suffix, read back', () => {
    expect(shardIngressName('istio-ingress-api', 0)).toBe('istio-ingress-api');
    expect(shardIngressName('istio-ingress-api', 3)).toBe('istio-ingress-api-shard-3');
    expect(shardIndexOf('istio-ingress-api', 'istio-ingress-api-shard-3')).toBe(3);
    expect(shardIndexOf('istio-ingress-api', 'istio-ingress-api')).toBe(0);
    expect(shardIndexOf('istio-ingress', 'istio-ingress-api')).toBeUndefined();
    expect(shardIndexOf('istio-ingress-api', 'istio-ingress-api-shard-0')).toBeUndefined();
    expect(shardIndexOf('istio-ingress-api', 'istio-ingress-api-shard-x')).toBeUndefined();
    expect(() => shardIngressName('x', -1)).toThrow(RangeError);
  });
});

describe('assignShards', () => {
  it('fills shard 0, then opens shard 1 when the quota is reached', () => {
    const a = assignShards({ shards: [], serve: ns(30), sniQuota: 25 });
    expect(a.shards.map((s) => [s.index, s.namespaces.length, s.created])).toEqual([
      [0, 25, true],
      [1, 5, true],
    ]);
    expect(shardCapacity(25, 0)).toBe(25);
    expect(shardsNeeded(500, 25)).toBe(20);
  });

  it('foreign certificates (Kubeflow’s on a Dex Ingress) take slots', () => {
    const a = assignShards({ shards: [{ index: 0, namespaces: [], foreign: 2 }], serve: ns(25), sniQuota: 25 });
    expect(a.shards.map((s) => s.namespaces.length)).toEqual([23, 2]);
  });

  it('adding a namespace never moves another one (every size, quota 3)', () => {
    let views: ShardView[] = [];
    let serve: string[] = [];
    for (const next of ns(40)) {
      const before = assignShards({ shards: views, serve, sniQuota: 3 }).shardOf;
      serve = [...serve, next];
      const after = assignShards({ shards: views, serve, sniQuota: 3 });
      for (const [n, shard] of Object.entries(before)) expect(after.shardOf[n]).toBe(shard);
      views = viewsOf(after);
    }
    expect(views.every((v) => v.namespaces.length <= 3)).toBe(true);
  });

  it('removing namespaces never moves another one; a freed slot is reused by the next new namespace', () => {
    const all = ns(10);
    const first = assignShards({ shards: [], serve: all, sniQuota: 3 });
    const views = viewsOf(first);
    // team-004 (shard 1) and all of shard 2 go.
    const gone = new Set(['team-004', ...first.shards[2]!.namespaces]);
    const remaining = all.filter((n) => !gone.has(n));
    const afterViews = views.map((v) => ({ ...v, namespaces: v.namespaces.filter((n) => !gone.has(n)) }));
    const after = assignShards({ shards: afterViews, serve: remaining, sniQuota: 3 });
    for (const n of remaining) expect(after.shardOf[n]).toBe(first.shardOf[n]);
    const added = assignShards({ shards: viewsOf(after), serve: [...remaining, 'new-one'], sniQuota: 3 });
    expect(added.shardOf['new-one']).toBe(1);
  });

  it('a gone namespace still listed keeps its slot until deprovisioning takes it off', () => {
    const views: ShardView[] = [{ index: 0, namespaces: ['a', 'b', 'gone'], foreign: 0 }];
    const held = assignShards({ shards: views, serve: ['a', 'b', 'c'], sniQuota: 3, keepSlots: new Set(['gone']) });
    expect(held.shardOf.c).toBe(1);
    const freed = assignShards({ shards: views, serve: ['a', 'b', 'c'], sniQuota: 3 });
    expect(freed.shardOf.c).toBe(0);
  });

  it('a namespace listed on two shards stays on the lower one', () => {
    const a = assignShards({
      shards: [
        { index: 0, namespaces: ['x'], foreign: 0 },
        { index: 1, namespaces: ['x', 'y'], foreign: 0 },
      ],
      serve: ['x', 'y'],
      sniQuota: 3,
    });
    expect(a.shardOf).toEqual({ x: 0, y: 1 });
  });

  it('a new shard takes the lowest free index', () => {
    const a = assignShards({
      shards: [
        { index: 0, namespaces: ['a'], foreign: 0 },
        { index: 2, namespaces: ['b'], foreign: 0 },
      ],
      serve: ['a', 'b', 'c', 'd'],
      sniQuota: 1,
    });
    expect(a.shardOf).toEqual({ a: 0, b: 2, c: 1, d: 3 });
  });

  it('refuses a quota that leaves no room', () => {
    expect(() => assignShards({ shards: [], serve: ['a'], sniQuota: 0 })).toThrow(RangeError);
  });
});

describe('shardRemovable', () => {
  const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'x-shard-1' } };
  it('only an empty shard of ours, never shard 0, and only after the records', () => {
    const base = { index: 1, ingress, ownedByUs: true, listedNamespaces: [], pendingRecordChanges: 0 };
    expect(shardRemovable(base).removable).toBe(true);
    expect(shardRemovable({ ...base, index: 0 }).removable).toBe(false);
    expect(shardRemovable({ ...base, pendingRecordChanges: 2 })).toEqual({ removable: false, reason: 'the namespace’s records go first' });
    expect(shardRemovable({ ...base, listedNamespaces: ['a'] }).removable).toBe(false);
    expect(shardRemovable({ ...base, ownedByUs: false }).removable).toBe(false);
    expect(shardRemovable({ ...base, ingress: undefined }).removable).toBe(false);
  });
});

describe('planDeprovision: an ALB shard goes only after its records', () => {
  const DOMAIN = 'platform.example.com';
  const OWNER = 'kserve-edge';
  const arn = (id: string) => `arn:aws:acm:us-west-2:111122223333:certificate/${id}`;
  const cert = (id: string, name: string, scope: string, inUseBy: string[] = []): CertificateDetail => ({
    arn: arn(id),
    domainName: name,
    names: [name],
    status: 'ISSUED',
    validationRecords: [],
    namesWithoutRecord: [],
    inUseBy,
    tags: { [TAG_OWNER]: OWNER, [TAG_DOMAIN]: DOMAIN, [TAG_SCOPE]: scope },
  });
  const base = cert('base', `*.${DOMAIN}`, 'base');
  const gone = cert('gone', `*.gone.${DOMAIN}`, 'namespace:gone', ['arn:aws:elasticloadbalancing:lb/1']);
  const other = cert('other', `*.other.${DOMAIN}`, 'namespace:other');
  const ingress = (arns: string[], labels: Record<string, string> = ownedLabels(OWNER)): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'istio-ingress-api-shard-1',
      namespace: 'istio-system',
      labels,
      annotations: { [ANNOTATION_CERTIFICATE_ARN]: arns.join(',') },
    },
  });
  const target = [{ name: `*.gone.${DOMAIN}`, type: 'CNAME', ttl: 300, values: ['alb-1.example'] }];
  const txt = [
    { name: ownershipRecordName('gone', DOMAIN), type: 'TXT', ttl: 300, values: [ownershipRecordValue(OWNER, `*.gone.${DOMAIN}`)] },
  ];
  const current = (over: Partial<DeprovisionCurrent>): DeprovisionCurrent => ({
    namespace: 'gone',
    domain: DOMAIN,
    ownerId: OWNER,
    target,
    ownership: txt,
    certificates: [base, gone, other],
    allCertificates: [],
    validationRecords: [],
    shard: 1,
    ingressOwned: true,
    ...over,
  });

  it('pass 1 deletes the records and takes the certificate off; the emptied shard waits for the next pass', () => {
    const plan = planDeprovision(current({ ingress: ingress([base.arn, gone.arn]) }));
    expect(plan.recordChanges.map((c) => c.action)).toEqual(['DELETE', 'DELETE']);
    expect(plan.ingressPatch?.removedArns).toEqual([gone.arn]);
    expect(plan.deleteIngress).toBeUndefined();
    expect(plan.shardEmptying?.name).toBe('istio-ingress-api-shard-1');
  });

  it('pass 2, records gone and only the base certificate left: the Ingress (and so its ALB) goes', () => {
    const plan = planDeprovision(current({ target: [], ownership: [], ingress: ingress([base.arn]) }));
    expect(plan.recordChanges).toEqual([]);
    expect(plan.deleteIngress).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      namespace: 'istio-system',
      name: 'istio-ingress-api-shard-1',
    });
  });

  it('never while another namespace is on the shard, never shard 0, never an Ingress that is not ours', () => {
    expect(planDeprovision(current({ ingress: ingress([base.arn, gone.arn, other.arn]) })).shardEmptying).toBeUndefined();
    expect(planDeprovision(current({ target: [], ownership: [], ingress: ingress([base.arn, other.arn]) })).deleteIngress).toBeUndefined();
    expect(planDeprovision(current({ target: [], ownership: [], shard: 0, ingress: ingress([base.arn]) })).deleteIngress).toBeUndefined();
    const foreign = planDeprovision(current({ target: [], ownership: [], ingress: ingress([base.arn], {}), ingressOwned: false }));
    expect(foreign.deleteIngress).toBeUndefined();
    expect(foreign.kept).toContainEqual({ what: 'Ingress istio-system/istio-ingress-api-shard-1', reason: 'not ours' });
  });
});

describe('Route 53 batches at hundreds of namespaces', () => {
  const group = (ns: string) => [
    {
      action: 'UPSERT' as const,
      record: { name: `*.${ns}.example.com`, type: 'CNAME', ttl: 300, values: ['k8s-alb-0123456789.us-west-2.elb.amazonaws.com'] },
    },
    {
      action: 'UPSERT' as const,
      record: { name: `_kserve-edge.${ns}.example.com`, type: 'TXT', ttl: 300, values: ['"heritage=kserve-edge,owner=kserve-edge"'] },
    },
  ];

  it('500 namespaces: every batch within 1,000 records (UPSERT twice) and 32,000 characters, a namespace never split', () => {
    const groups = ns(500).map(group);
    const batches = splitIntoBatches(groups);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      expect(batchWeight(b)).toBeLessThanOrEqual(ROUTE53_MAX_BATCH_WEIGHT);
      expect(batchValueCharacters(b)).toBeLessThanOrEqual(ROUTE53_MAX_BATCH_VALUE_CHARACTERS);
      expect(b.length % 2).toBe(0);
    }
    expect(batches.flat()).toEqual(groups.flat());
  });

  it('long values split by characters before records', () => {
    const long = (i: number) => [
      { action: 'UPSERT' as const, record: { name: `v${i}.example.com`, type: 'TXT', values: ['x'.repeat(4000)] } },
    ];
    const batches = splitIntoBatches(Array.from({ length: 10 }, (_, i) => long(i)));
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
  });

  it('refuses a group that fits no batch', () => {
    expect(() => splitIntoBatches([[{ action: 'UPSERT', record: { name: 'x', type: 'TXT', values: ['y'.repeat(16001)] } }]])).toThrow(
      RangeError,
    );
  });
});
