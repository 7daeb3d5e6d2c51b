/**
 * The cluster's hostname settings, as desired state → plan: which KServe
 * deployment modes are in use, which layout each renders today, and the one
 * write per mode that makes it render the request's layout.
 *
 * | mode in use | object (namespace)                               | field we write                        | how                                   |
 * |-------------|--------------------------------------------------|---------------------------------------|---------------------------------------|
 * | Knative     | ConfigMap `config-network` (knative-serving)     | `data.domain-template`                | server-side apply of that key, field manager `kserve-edge` |
 * | Standard    | ConfigMap `inferenceservice-config` (KServe's)   | `domainTemplate`, `ingressDomain` inside the `data.ingress` JSON | JSON Patch guarded by `test`, ownership recorded in an annotation |
 *
 * A mode is in use when it is the cluster's default (`inferenceservice-config`
 * `deploy.defaultDeploymentMode`; Knative when KServe's config is absent) or an
 * InferenceService of a request namespace names it
 * (`serving.kserve.io/deploymentMode`); old and new mode names both count.
 *
 * Ownership:
 * - `domain-template` is one field for server-side apply: when a field manager
 *   other than ours holds it and its value is not the one we want, the plan
 *   refuses (`ObjectOwnedByAnother`, naming the manager) unless `adopt`.
 * - `data.ingress` is one field too, and KServe's installer always holds it, so
 *   the field manager says nothing about the two keys inside it. We change them
 *   only while they hold KServe's defaults or exactly what we recorded last in
 *   the annotation {@link INGRESS_HOSTNAMES_ANNOTATION}; anything else was set
 *   by someone and is refused unless `adopt` (so we never fight a person or a
 *   GitOps tool over it). The patch tests the whole `ingress` string first: a
 *   concurrent edit fails it (PatchConflict) instead of being overwritten.
 *
 * Layout switch: when a mode already renders hostnames under the request's
 * domain in the other layout, every model's URL changes; the request must say
 * `confirmHostnameChange: "<from>-to-<to>"`, else `HostnameChangeUnconfirmed`
 * before any write (ValidateRequest runs this plan).
 *
 * Pure. ValidateRequest and ConfigureCluster read the objects and call {@link planHostnames}.
 */
import { HostnameChangeUnconfirmedError, InvalidRequestError, ObjectOwnedByAnotherError, PrerequisiteMissingError } from '../errors';
import { FIELD_MANAGER } from '../ownership';
import type { JsonPatchOp, KubeObject, ObjectRef } from '../ports';
import type { ProvisionRequest } from '../request';
import {
  DEPLOYMENT_MODE_ANNOTATION,
  KNATIVE_NESTED_TEMPLATE,
  STANDARD_DEFAULT_INGRESS_DOMAIN,
  STANDARD_DEFAULT_TEMPLATE,
  hostOfUrl,
  hostnameProblem,
  layoutOfTemplate,
  parseDeploymentMode,
  renderModelHost,
  templateFor,
  type DeploymentMode,
  type HostnameLayout,
  type TemplateLayout,
} from './hostnames';

export const KNATIVE_SERVING_NAMESPACE = 'knative-serving';
/** Knative's networking settings; `domain-template` is the key we set. */
export const CONFIG_NETWORK_REF: ObjectRef = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: KNATIVE_SERVING_NAMESPACE,
  name: 'config-network',
};
export const DOMAIN_TEMPLATE_KEY = 'domain-template';
export const INFERENCESERVICE_CONFIG = 'inferenceservice-config';
export const INFERENCESERVICE_API_VERSION = 'serving.kserve.io/v1beta1';
/**
 * On `inferenceservice-config`: what kserve-edge last wrote into `data.ingress`
 * (`{"owner", "domainTemplate", "ingressDomain"}`), so that a later run can tell
 * its own values from someone else's.
 */
export const INGRESS_HOSTNAMES_ANNOTATION = 'kserve-edge.io/ingress-hostnames';

/** KServe's `inferenceservice-config` in the request's KServe namespace. */
export function inferenceServiceConfigRef(request: Pick<ProvisionRequest, 'kserve'>): ObjectRef {
  return { apiVersion: 'v1', kind: 'ConfigMap', namespace: request.kserve.namespace, name: INFERENCESERVICE_CONFIG };
}

/** What the plan reads. */
export interface HostnameClusterState {
  /** Knative's config-domain (which domain Knative routes use). */
  configDomain: KubeObject | undefined;
  configNetwork: KubeObject | undefined;
  inferenceServiceConfig: KubeObject | undefined;
  /** InferenceServices (any namespace; those outside the request are ignored). */
  inferenceServices: readonly KubeObject[];
}

/** One write of the plan (JSON-serialisable). */
export interface HostnameAction {
  action: 'apply' | 'patch';
  ref: ObjectRef;
  reason: string;
  /** `apply`: the server-side apply configuration (only `data.domain-template`). */
  object?: KubeObject;
  force?: boolean;
  /** `patch`: RFC 6902 operations, the first a `test`. */
  ops?: JsonPatchOp[];
}

/** How one mode renders hostnames now and after the run. */
export interface ModeHostnames {
  mode: DeploymentMode;
  /** The layout its template renders now. */
  current: TemplateLayout;
  /** True when it renders hostnames under the request's domain today (models are reachable there). */
  live: boolean;
  /** The template (and, Standard, ingress domain) after the run. */
  template: string;
  changes: boolean;
}

export interface HostnamePlan {
  layout: HostnameLayout;
  defaultMode: DeploymentMode;
  /** Modes in use, sorted. */
  modes: ModeHostnames[];
  /** The layout switch this run makes (URLs change), if any. */
  change?: { from: TemplateLayout; to: HostnameLayout; confirmation: string };
  actions: HostnameAction[];
  /** The canary model's host per request namespace that has the InferenceService (status.url, else its mode's template). */
  hosts: Record<string, string>;
  /** Mode of each InferenceService in the request's namespaces, `<ns>/<name>` → mode. */
  inferenceServices: Record<string, DeploymentMode>;
}

type Data = Record<string, string>;

function dataOf(obj: KubeObject | undefined): Data {
  return ((obj as { data?: Data | null } | undefined)?.data ?? {}) as Data;
}

function formatRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** JSON Pointer (RFC 6901) token escaping. */
function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Field managers other than ours that hold `data.<key>` of an object, from
 * `metadata.managedFields` (`fieldsV1` is `{"f:data": {"f:<key>": {}}}`).
 */
export function foreignManagersOfDataKey(obj: KubeObject | undefined, key: string): string[] {
  const out = new Set<string>();
  for (const entry of obj?.metadata.managedFields ?? []) {
    const fields = entry.fieldsV1 as Record<string, Record<string, unknown> | undefined> | undefined;
    if (fields?.['f:data']?.[`f:${key}`] === undefined) continue;
    if (entry.manager !== undefined && entry.manager !== FIELD_MANAGER) out.add(entry.manager);
  }
  return [...out].sort();
}

/** `deploy.defaultDeploymentMode` of `inferenceservice-config`; Knative when absent (KServe's default). */
export function defaultDeploymentMode(isvcConfig: KubeObject | undefined): DeploymentMode {
  const raw = dataOf(isvcConfig).deploy;
  if (raw === undefined) return 'Knative';
  try {
    return parseDeploymentMode((JSON.parse(raw) as { defaultDeploymentMode?: unknown }).defaultDeploymentMode) ?? 'Knative';
  } catch {
    return 'Knative';
  }
}

/** An InferenceService's mode: its annotation (old or new name), else the cluster default. */
export function inferenceServiceMode(isvc: KubeObject, clusterDefault: DeploymentMode): DeploymentMode {
  return parseDeploymentMode(isvc.metadata.annotations?.[DEPLOYMENT_MODE_ANNOTATION]) ?? clusterDefault;
}

/** Domains of config-domain that apply to every route (a key whose value has no selector), as Knative reads it. */
function knativeDefaultDomains(configDomain: KubeObject | undefined): string[] {
  return Object.entries(dataOf(configDomain))
    .filter(([k, v]) => k !== '_example' && !/selector\s*:/.test(v ?? ''))
    .map(([k]) => k);
}

interface IngressConfig {
  raw: string;
  parsed: Record<string, unknown>;
  domainTemplate: string;
  ingressDomain: string;
}

function ingressConfig(isvcConfig: KubeObject, ref: ObjectRef): IngressConfig {
  const raw = dataOf(isvcConfig).ingress;
  if (raw === undefined) {
    throw new PrerequisiteMissingError(`${formatRef(ref)} has no "ingress" key: is KServe installed completely?`, {
      missing: `${formatRef(ref)} data.ingress`,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PrerequisiteMissingError(`${formatRef(ref)} data.ingress is not a JSON object`, {
      missing: `${formatRef(ref)} data.ingress (JSON)`,
    });
  }
  const obj = parsed as Record<string, unknown>;
  const str = (v: unknown, dflt: string): string => (typeof v === 'string' && v !== '' ? v : dflt);
  return {
    raw,
    parsed: obj,
    domainTemplate: str(obj.domainTemplate, STANDARD_DEFAULT_TEMPLATE),
    ingressDomain: str(obj.ingressDomain, STANDARD_DEFAULT_INGRESS_DOMAIN),
  };
}

function recordedIngress(isvcConfig: KubeObject, ownerId: string): { domainTemplate?: string; ingressDomain?: string } | undefined {
  const raw = isvcConfig.metadata.annotations?.[INGRESS_HOSTNAMES_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const rec = JSON.parse(raw) as { owner?: unknown; domainTemplate?: unknown; ingressDomain?: unknown };
    if (rec.owner !== ownerId) return undefined;
    return {
      ...(typeof rec.domainTemplate === 'string' ? { domainTemplate: rec.domainTemplate } : {}),
      ...(typeof rec.ingressDomain === 'string' ? { ingressDomain: rec.ingressDomain } : {}),
    };
  } catch {
    return undefined;
  }
}

function planKnative(
  request: ProvisionRequest,
  state: HostnameClusterState,
  layout: HostnameLayout,
): { mode: ModeHostnames; action?: HostnameAction } {
  const ref = CONFIG_NETWORK_REF;
  const want = templateFor('Knative', layout);
  const current = dataOf(state.configNetwork)[DOMAIN_TEMPLATE_KEY];
  const currentLayout = layoutOfTemplate(current ?? KNATIVE_NESTED_TEMPLATE);
  const live = knativeDefaultDomains(state.configDomain).includes(request.domain);
  const mode: ModeHostnames = { mode: 'Knative', current: currentLayout, live, template: want, changes: false };
  if (currentLayout === layout) return { mode: { ...mode, template: current ?? KNATIVE_NESTED_TEMPLATE } };
  if (!state.configNetwork) {
    throw new PrerequisiteMissingError(`${formatRef(ref)} not found: is Knative Serving (KServe's Knative mode) installed?`, {
      missing: formatRef(ref),
    });
  }
  const foreign = current === undefined ? [] : foreignManagersOfDataKey(state.configNetwork, DOMAIN_TEMPLATE_KEY);
  if (foreign.length > 0 && !request.adopt) {
    throw new ObjectOwnedByAnotherError(
      `${formatRef(ref)} data.${DOMAIN_TEMPLATE_KEY} ("${current ?? ''}") is owned by field manager ${foreign.map((m) => `"${m}"`).join(', ')}, ` +
        `not kserve-edge; change it back yourself, or set "adopt": true to take it over`,
    );
  }
  return {
    mode: { ...mode, changes: true },
    action: {
      action: 'apply',
      ref,
      reason: `Knative hostnames: ${DOMAIN_TEMPLATE_KEY} ${JSON.stringify(want)} (${layout})${foreign.length > 0 ? `, adopted from ${foreign.join(', ')}` : ''}`,
      object: {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace! },
        data: { [DOMAIN_TEMPLATE_KEY]: want },
      },
      force: foreign.length > 0,
    },
  };
}

function planStandard(
  request: ProvisionRequest,
  state: HostnameClusterState,
  layout: HostnameLayout,
): { mode: ModeHostnames; action?: HostnameAction } {
  const ref = inferenceServiceConfigRef(request);
  const isvcConfig = state.inferenceServiceConfig;
  if (!isvcConfig) {
    throw new PrerequisiteMissingError(
      `${formatRef(ref)} not found: InferenceServices use KServe's Standard mode; set kserve.namespace to where KServe is installed`,
      {
        missing: formatRef(ref),
      },
    );
  }
  const ingress = ingressConfig(isvcConfig, ref);
  const want = templateFor('Standard', layout);
  const currentLayout = layoutOfTemplate(ingress.domainTemplate);
  const live = ingress.ingressDomain === request.domain;
  const mode: ModeHostnames = { mode: 'Standard', current: currentLayout, live, template: want, changes: false };
  if (currentLayout === layout && live) return { mode: { ...mode, template: ingress.domainTemplate } };

  const recorded = recordedIngress(isvcConfig, request.ownerId);
  const isDefault = ingress.domainTemplate === STANDARD_DEFAULT_TEMPLATE && ingress.ingressDomain === STANDARD_DEFAULT_INGRESS_DOMAIN;
  const isOurs =
    recorded !== undefined && recorded.domainTemplate === ingress.domainTemplate && recorded.ingressDomain === ingress.ingressDomain;
  const foreign = !isDefault && !isOurs;
  if (foreign && !request.adopt) {
    const managers = foreignManagersOfDataKey(isvcConfig, 'ingress');
    throw new ObjectOwnedByAnotherError(
      `${formatRef(ref)} data.ingress sets domainTemplate "${ingress.domainTemplate}" and ingressDomain "${ingress.ingressDomain}", ` +
        `which are not KServe's defaults and were not written by kserve-edge (owner "${request.ownerId}")` +
        `${managers.length > 0 ? `; field manager ${managers.map((m) => `"${m}"`).join(', ')}` : ''}: ` +
        'change them back yourself, or set "adopt": true to take them over',
    );
  }
  const next = JSON.stringify({ ...ingress.parsed, domainTemplate: want, ingressDomain: request.domain }, null, 2);
  const record = JSON.stringify({ owner: request.ownerId, domainTemplate: want, ingressDomain: request.domain });
  const annotations = isvcConfig.metadata.annotations;
  const ops: JsonPatchOp[] = [
    // The whole string is tested: a concurrent edit of any ingress setting fails the patch (PatchConflict) instead of being lost.
    { op: 'test', path: '/data/ingress', value: ingress.raw },
    { op: 'replace', path: '/data/ingress', value: next },
    annotations === undefined
      ? { op: 'add', path: '/metadata/annotations', value: { [INGRESS_HOSTNAMES_ANNOTATION]: record } }
      : { op: 'add', path: `/metadata/annotations/${pointerToken(INGRESS_HOSTNAMES_ANNOTATION)}`, value: record },
  ];
  return {
    mode: { ...mode, changes: true },
    action: {
      action: 'patch',
      ref,
      reason:
        `Standard hostnames: ingress.domainTemplate ${JSON.stringify(want)} (${layout}), ingressDomain ${request.domain}` +
        (foreign ? ' (adopt=true: replacing values someone else set)' : ''),
      ops,
    },
  };
}

/**
 * What the cluster's hostname settings should become for the request, and
 * the canary's host per namespace. Pure.
 *
 * @throws HostnameChangeUnconfirmedError when the run would change the layout of live hostnames without `confirmHostnameChange`.
 * @throws ObjectOwnedByAnotherError when the setting to change belongs to someone else, unless `adopt`.
 * @throws PrerequisiteMissingError when the ConfigMap of a mode in use is missing (or its ingress JSON is broken).
 * @throws InvalidRequestError when an InferenceService's hostname would be longer than DNS allows in the layout.
 */
export function planHostnames(request: ProvisionRequest, state: HostnameClusterState): HostnamePlan {
  const layout = request.hostnames;
  const defaultMode = defaultDeploymentMode(state.inferenceServiceConfig);
  const namespaces = new Set(request.namespaces);
  const isvcs = state.inferenceServices.filter((i) => namespaces.has(i.metadata.namespace ?? ''));
  const modeOf = new Map(isvcs.map((i) => [i, inferenceServiceMode(i, defaultMode)]));

  for (const isvc of isvcs) {
    const problem = hostnameProblem(layout, isvc.metadata.name, isvc.metadata.namespace ?? '', request.domain);
    if (problem !== undefined) {
      throw new InvalidRequestError(`InferenceService ${isvc.metadata.namespace}/${isvc.metadata.name}: ${problem}`, {
        path: 'namespaces',
      });
    }
  }

  const inUse = new Set<DeploymentMode>([defaultMode, ...modeOf.values()]);
  const modes: ModeHostnames[] = [];
  const actions: HostnameAction[] = [];
  for (const m of ['Knative', 'Standard'] as const) {
    if (!inUse.has(m)) continue;
    const planned = m === 'Knative' ? planKnative(request, state, layout) : planStandard(request, state, layout);
    modes.push(planned.mode);
    if (planned.action) actions.push(planned.action);
  }

  // A switch of hostnames that are live under this domain changes every model's URL.
  const switching = modes.find((m) => m.live && m.current !== layout);
  let change: HostnamePlan['change'];
  if (switching) {
    const confirmation = `${switching.current}-to-${layout}`;
    change = { from: switching.current, to: layout, confirmation };
    if (request.confirmHostnameChange !== confirmation) {
      const sample = isvcs.find((i) => modeOf.get(i) === switching.mode);
      const example =
        sample && switching.current !== 'custom'
          ? ` (e.g. https://${renderModelHost(switching.current, sample.metadata.name, sample.metadata.namespace ?? '', request.domain)} → ` +
            `https://${renderModelHost(layout, sample.metadata.name, sample.metadata.namespace ?? '', request.domain)})`
          : '';
      throw new HostnameChangeUnconfirmedError(
        `switching hostnames from ${switching.current} to ${layout} (${switching.mode} mode) changes the URL of every model under ${request.domain}${example}; ` +
          `clients must move to the new URLs. Set "confirmHostnameChange": "${confirmation}" in the request to go ahead`,
        { path: 'confirmHostnameChange' },
      );
    }
  }

  const changing = new Set(modes.filter((m) => m.changes).map((m) => m.mode));
  const hosts: Record<string, string> = {};
  const inferenceServices: Record<string, DeploymentMode> = {};
  for (const isvc of isvcs) {
    const ns = isvc.metadata.namespace ?? '';
    const mode = modeOf.get(isvc) ?? defaultMode;
    inferenceServices[`${ns}/${isvc.metadata.name}`] = mode;
    if (isvc.metadata.name !== request.canary.model) continue;
    // What KServe publishes wins, unless this run changes how its mode renders hosts (then status.url is about to change).
    const published = hostOfUrl((isvc.status as { url?: unknown } | undefined)?.url);
    hosts[ns] =
      published !== undefined && published.endsWith(`.${request.domain}`) && !changing.has(mode)
        ? published
        : renderModelHost(layout, isvc.metadata.name, ns, request.domain);
  }

  return { layout, defaultMode, modes, ...(change ? { change } : {}), actions, hosts, inferenceServices };
}
