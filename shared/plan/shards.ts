/**
 * ALB shards: when the namespaces' certificates do not fit one listener, the
 * workflow runs several ALBs, one Ingress each. Pure.
 *
 * The AWS Load Balancer Controller never splits an IngressGroup across ALBs
 * (kubernetes-sigs/aws-load-balancer-controller#3525), and an ALB takes a
 * limited number of certificates besides its default one (ELBv2 quota
 * `certificates-per-application-load-balancer`, 25 by default). So each shard
 * is an Ingress of its own, without `group.name`, hence an ALB of its own:
 *
 * | shard | Ingress (Cognito)              | Ingress (Dex)                                   |
 * |-------|--------------------------------|-------------------------------------------------|
 * | 0     | `istio-ingress-api` (as today) | Kubeflow's `istio-ingress` (as today, shared)    |
 * | n ≥ 1 | `istio-ingress-api-shard-<n>`  | `istio-ingress-shard-<n>`: ours, the same backend (istio-ingressgateway:80) and annotations |
 *
 * Every shard carries the same annotations, auth rule and the base
 * `*.<domain>` certificate as its default; its SNI list holds the
 * certificates of the namespaces assigned to it.
 *
 * **There is no database.** A namespace's shard is the Ingress whose
 * `certificate-arn` lists one of our certificates for it, read every time.
 * Stability follows from that: a namespace listed on a shard stays there; a
 * namespace listed nowhere goes to the lowest shard with room, or to a new
 * shard (the lowest index not in use) when none has; removing a namespace
 * frees its slot and moves no other. A shard left without namespaces is
 * removed by deprovisioning, after the namespace's records are gone
 * ({@link shardRemovable}); shard 0 is never removed (it is the deployment's
 * Ingress, or Kubeflow's).
 */
import { InvalidRequestError } from '../errors';
import type { KubeObject } from '../ports';

/** Label on every shard Ingress of ours with n ≥ 1 (shard 0 keeps its name and labels). */
export const SHARD_LABEL = 'kserve-edge.io/shard';
/** Suffix of shard n ≥ 1's Ingress name. */
const SHARD_SUFFIX = '-shard-';
/**
 * ELBv2's default of `certificates-per-application-load-balancer` (AWS
 * "Quotas for your Application Load Balancers": 25, the default certificate
 * excluded). Used only when DescribeAccountLimits does not answer.
 */
export const DEFAULT_SNI_CERTIFICATES_PER_ALB = 25;
/** ELBv2 DescribeAccountLimits name of that quota. */
export const ALB_CERTIFICATES_LIMIT_NAME = 'certificates-per-application-load-balancer';
/** ELBv2 DescribeAccountLimits name of the ALBs-per-region quota. */
export const ALB_COUNT_LIMIT_NAME = 'application-load-balancers';
/** ELBv2's default ALBs per region (AWS quotas page: 50). */
export const DEFAULT_ALBS_PER_REGION = 50;
/**
 * ACM's default "ACM certificates" quota per account and region (2,500,
 * acm-limits.html). Service Quotas (L-F141DD1D) would give the account's
 * value; moto does not serve it, so the default stands with this comment.
 */
export const DEFAULT_ACM_CERTIFICATES = 2500;
/**
 * Shards a deployment may run: the workflow's RBAC (deploy/rbac.yaml) names
 * each shard Ingress it may get, patch and delete, since RBAC cannot match
 * names by pattern. 40 shards × 25 = 1,000 namespaces at the default quota
 * (twice the request's cap of 500 namespaces: room for a lowered quota).
 */
export const MAX_SHARDS = 40;

/** The Ingress name of shard `index` (0: the base name, unchanged since before shards existed). */
export function shardIngressName(baseName: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`shard index must be a non-negative integer, got ${index}`);
  return index === 0 ? baseName : `${baseName}${SHARD_SUFFIX}${index}`;
}

/**
 * The shard index of an Ingress named `name` for base name `baseName`, or
 * `undefined` when the name is not one of that deployment's shards.
 */
export function shardIndexOf(baseName: string, name: string): number | undefined {
  if (name === baseName) return 0;
  const prefix = `${baseName}${SHARD_SUFFIX}`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^[1-9][0-9]{0,3}$/.test(rest) ? Number(rest) : undefined;
}

/** What one shard holds now, as read from its Ingress. */
export interface ShardView {
  index: number;
  /** Namespaces one of whose certificates of ours the Ingress lists. */
  namespaces: string[];
  /** Certificates on the Ingress that are not ours (Kubeflow's, on shard 0 of a Dex deployment); they take slots too. */
  foreign: number;
  /**
   * A shard n ≥ 1 that serves no namespace any more is being removed by
   * deprovisioning: it takes no new namespace (a record pointed at it now
   * would lose its ALB moments later); a new shard opens instead.
   */
  closed?: boolean;
}

/** The outcome of {@link assignShards}. */
export interface ShardAssignment {
  /** Namespace → shard index, for every namespace to serve. */
  shardOf: Record<string, number>;
  /** Every shard that exists or is to be created, by index, with its namespaces (sorted) after the assignment. */
  shards: Array<{ index: number; namespaces: string[]; created: boolean }>;
}

/**
 * How many namespace certificates a shard takes: the listener holds the
 * default certificate plus `sniQuota` others; the base `*.<domain>`
 * certificate and the foreign ones take one slot each, the default among them.
 */
export function shardCapacity(sniQuota: number, foreign: number): number {
  return Math.max(0, sniQuota + 1 - 1 - foreign);
}

/**
 * Assigns every namespace to serve to a shard. Pure and stable:
 *
 * - a namespace some shard lists stays on it (listed on several, a leftover
 *   of a hand edit: the lowest index keeps it);
 * - one listed nowhere goes to the lowest shard with room, else to a new
 *   shard at the lowest free index (shard 0 first, when it does not exist);
 * - namespaces not in `serve` are not assigned (whatever lists them is
 *   deprovisioning's to take off); their slots stay taken until then only
 *   when `keepSlots` names them.
 *
 * @param input.serve namespaces to serve, in the order new ones are placed.
 * @param input.keepSlots namespaces not served but still listed (gone, not deprovisioned yet): their slots stay taken.
 */
export function assignShards(input: {
  shards: readonly ShardView[];
  serve: readonly string[];
  sniQuota: number;
  keepSlots?: ReadonlySet<string>;
}): ShardAssignment {
  type Entry = { index: number; namespaces: Set<string>; foreign: number; created: boolean; held: number; closed: boolean };
  const byIndex = new Map<number, Entry>();
  for (const s of [...input.shards].sort((a, b) => a.index - b.index)) {
    byIndex.set(s.index, { index: s.index, namespaces: new Set(), foreign: s.foreign, created: false, held: 0, closed: s.closed ?? false });
  }
  const shardOf: Record<string, number> = {};
  const serve = [...new Set(input.serve)];
  const serving = new Set(serve);
  for (const s of [...input.shards].sort((a, b) => a.index - b.index)) {
    const entry = byIndex.get(s.index)!;
    for (const ns of s.namespaces) {
      if (serving.has(ns) && shardOf[ns] === undefined) {
        shardOf[ns] = s.index;
        entry.namespaces.add(ns);
      } else if (!serving.has(ns) && input.keepSlots?.has(ns)) {
        entry.held += 1;
      }
    }
  }
  const room = (e: Entry) => (e.closed ? 0 : shardCapacity(input.sniQuota, e.foreign) - e.namespaces.size - e.held);
  if (shardCapacity(input.sniQuota, 0) < 1)
    throw new RangeError(`an ALB quota of ${input.sniQuota} SNI certificates leaves no room for a namespace`);
  for (const ns of serve) {
    if (shardOf[ns] !== undefined) continue;
    let target = [...byIndex.values()].sort((a, b) => a.index - b.index).find((e) => room(e) > 0);
    if (!target) {
      let index = 0;
      while (byIndex.has(index)) index++;
      target = { index, namespaces: new Set(), foreign: 0, created: true, held: 0, closed: false };
      byIndex.set(index, target);
    }
    target.namespaces.add(ns);
    shardOf[ns] = target.index;
  }
  return {
    shardOf,
    shards: [...byIndex.values()]
      .sort((a, b) => a.index - b.index)
      .map((e) => ({ index: e.index, namespaces: [...e.namespaces].sort(), created: e.created })),
  };
}

/** How many shards `namespaces` namespaces need at least (no foreign certificates). */
export function shardsNeeded(namespaces: number, sniQuota: number): number {
  return Math.ceil(namespaces / shardCapacity(sniQuota, 0));
}

/**
 * Deprovisioning may delete a shard's Ingress (and so its ALB) when it is not
 * shard 0, is ours, lists no namespace certificate of ours any more (only the
 * base certificate), and the namespace's records are gone: so no record of
 * ours can still point at the ALB it takes away. Pure.
 */
export function shardRemovable(input: {
  index: number;
  ingress: KubeObject | undefined;
  ownedByUs: boolean;
  /** Namespaces the Ingress lists a certificate of ours for. */
  listedNamespaces: readonly string[];
  /** Record changes this pass still has to make for the namespace (DELETEs): the Ingress waits until none. */
  pendingRecordChanges: number;
}): { removable: boolean; reason: string } {
  if (input.index === 0) return { removable: false, reason: 'shard 0 is the deployment’s Ingress and is never removed' };
  if (!input.ingress) return { removable: false, reason: 'no Ingress' };
  if (!input.ownedByUs) return { removable: false, reason: 'not ours' };
  if (input.listedNamespaces.length > 0) return { removable: false, reason: `still serves ${input.listedNamespaces.join(', ')}` };
  if (input.pendingRecordChanges > 0) return { removable: false, reason: 'the namespace’s records go first' };
  return { removable: true, reason: 'no namespace left on the shard and its records are gone' };
}

/** The quotas a deployment's shards must fit, as read (or defaulted). */
export interface ShardQuotas {
  /** `certificates-per-application-load-balancer`. */
  sniCertificatesPerAlb: number;
  /** `application-load-balancers`. */
  loadBalancers: number;
  /** ACM certificates per account and region. */
  acmCertificates: number;
}

/** The quotas from DescribeAccountLimits' answer, each defaulted when missing. */
export function quotasFrom(limits: Readonly<Record<string, number>> | undefined): ShardQuotas {
  const pick = (name: string, fallback: number) => {
    const v = limits?.[name];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
  };
  return {
    sniCertificatesPerAlb: pick(ALB_CERTIFICATES_LIMIT_NAME, DEFAULT_SNI_CERTIFICATES_PER_ALB),
    loadBalancers: pick(ALB_COUNT_LIMIT_NAME, DEFAULT_ALBS_PER_REGION),
    acmCertificates: DEFAULT_ACM_CERTIFICATES,
  };
}

/**
 * Refuses, before any write, a number of namespaces the quotas cannot hold:
 * the shards they need (at least) must fit the ALB quota and {@link MAX_SHARDS},
 * their certificates (one each plus `*.<domain>`) ACM's.
 *
 * @throws InvalidRequestError naming the quota.
 */
export function checkShardQuotas(namespaces: number, quotas: ShardQuotas): void {
  if (quotas.sniCertificatesPerAlb < 1) {
    throw new InvalidRequestError(
      `the account's ELBv2 quota ${ALB_CERTIFICATES_LIMIT_NAME} is ${quotas.sniCertificatesPerAlb}: no namespace certificate fits an ALB`,
      { path: 'namespaces' },
    );
  }
  const shards = shardsNeeded(namespaces, quotas.sniCertificatesPerAlb);
  if (shards > quotas.loadBalancers) {
    throw new InvalidRequestError(
      `${namespaces} namespaces need ${shards} ALBs at ${quotas.sniCertificatesPerAlb} certificates each (quota ${ALB_CERTIFICATES_LIMIT_NAME}); ` +
        `the account's quota ${ALB_COUNT_LIMIT_NAME} is ${quotas.loadBalancers}: raise it in Service Quotas or serve fewer namespaces`,
      { path: 'namespaces' },
    );
  }
  if (shards > MAX_SHARDS) {
    throw new InvalidRequestError(
      `${namespaces} namespaces need ${shards} ALB shards; the workflow's RBAC (deploy/rbac.yaml) names ${MAX_SHARDS}`,
      { path: 'namespaces' },
    );
  }
  if (namespaces + 1 > quotas.acmCertificates) {
    throw new InvalidRequestError(
      `${namespaces} namespaces need ${namespaces + 1} ACM certificates; ACM's quota "ACM certificates" is ${quotas.acmCertificates} per region`,
      { path: 'namespaces' },
    );
  }
}
