/**
 * Model hostnames: the two layouts, KServe's two deployment modes, and the
 * templates that make each mode render each layout.
 *
 * | layout   | a model's host                 | certificate / record per namespace      |
 * |----------|--------------------------------|-----------------------------------------|
 * | `nested` | `<model>.<namespace>.<domain>` | `*.<namespace>.<domain>` (one each)     |
 * | `flat`   | `<model>-<namespace>.<domain>` | none: `*.<domain>` serves every namespace |
 *
 * Who renders the host depends on the InferenceService's deployment mode
 * (KServe v0.16 renamed Serverless → Knative and RawDeployment → Standard):
 *
 * | mode     | template (where)                                                   | default                                            |
 * |----------|--------------------------------------------------------------------|----------------------------------------------------|
 * | Knative  | `domain-template` of Knative's `config-network` (knative-serving)  | `{{.Name}}.{{.Namespace}}.{{.Domain}}`, domain from `config-domain` |
 * | Standard | `ingress.domainTemplate` + `ingressDomain` of KServe's `inferenceservice-config` | `{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`, `example.com` |
 *
 * Pure: no I/O (a planner module, so shared/plan/* may use it). shared/request.ts delegates `namespaceWildcard` and
 * `modelHost` here.
 */

/** How model hostnames are laid out under the domain. */
export type HostnameLayout = 'nested' | 'flat';
/** A KServe deployment mode, by its current (v0.16+) name. */
export type DeploymentMode = 'Knative' | 'Standard';
/** What a template renders: one of the two layouts, or something else (someone's own template). */
export type TemplateLayout = HostnameLayout | 'custom';

/** Knative's default `domain-template` (knative/serving `pkg/apis/config`, `DefaultDomainTemplate`). */
export const KNATIVE_NESTED_TEMPLATE = '{{.Name}}.{{.Namespace}}.{{.Domain}}';
/** The `domain-template` kserve-edge sets for the flat layout. */
export const KNATIVE_FLAT_TEMPLATE = '{{.Name}}-{{.Namespace}}.{{.Domain}}';
/** KServe's default `ingress.domainTemplate` for Standard mode (`inferenceservice-config`). */
export const STANDARD_DEFAULT_TEMPLATE = '{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}';
/** The Standard-mode `domainTemplate` kserve-edge sets for the nested layout. */
export const STANDARD_NESTED_TEMPLATE = '{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}';
/** KServe's default `ingress.ingressDomain`. */
export const STANDARD_DEFAULT_INGRESS_DOMAIN = 'example.com';
/** The annotation that picks an InferenceService's mode. */
export const DEPLOYMENT_MODE_ANNOTATION = 'serving.kserve.io/deploymentMode';
/** A DNS label: at most 63 octets (RFC 1035 §2.3.4). */
export const MAX_DNS_LABEL = 63;
/** A DNS name in presentation form, without the trailing dot. */
export const MAX_HOSTNAME = 253;

/**
 * A deployment mode by any of its names: `Knative`/`Serverless`,
 * `Standard`/`RawDeployment` (case-insensitive). Other values (`ModelMesh`,
 * typos) give `undefined`: KServe serves those without these hostnames.
 */
export function parseDeploymentMode(value: unknown): DeploymentMode | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'knative' || v === 'serverless') return 'Knative';
  if (v === 'standard' || v === 'rawdeployment') return 'Standard';
  return undefined;
}

/** The template a mode needs for a layout. */
export function templateFor(mode: DeploymentMode, layout: HostnameLayout): string {
  if (mode === 'Knative') return layout === 'flat' ? KNATIVE_FLAT_TEMPLATE : KNATIVE_NESTED_TEMPLATE;
  return layout === 'flat' ? STANDARD_DEFAULT_TEMPLATE : STANDARD_NESTED_TEMPLATE;
}

/**
 * Renders the simple Go templates Knative and KServe ship: `{{.Name}}`,
 * `{{ .Namespace }}`, `{{.Domain}}`, `{{.IngressDomain}}`, with any spacing.
 * Anything else (functions, `.Annotations`, `.Labels`) gives `undefined`: the
 * template is someone's own and only the cluster can render it.
 */
export function renderTemplate(template: string, values: { name: string; namespace: string; domain: string }): string | undefined {
  let unknown = false;
  const out = template.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_m, expr: string) => {
    switch (expr) {
      case '.Name':
        return values.name;
      case '.Namespace':
        return values.namespace;
      case '.Domain':
      case '.IngressDomain':
        return values.domain;
      default:
        unknown = true;
        return '';
    }
  });
  return unknown ? undefined : out;
}

/** Which layout a template renders (by rendering it with sample values). */
export function layoutOfTemplate(template: string): TemplateLayout {
  const host = renderTemplate(template, { name: 'm', namespace: 'n', domain: 'd.example' });
  if (host === 'm.n.d.example') return 'nested';
  if (host === 'm-n.d.example') return 'flat';
  return 'custom';
}

/** A model's host in a layout. */
export function renderModelHost(layout: HostnameLayout, model: string, namespace: string, domain: string): string {
  return layout === 'flat' ? `${model}-${namespace}.${domain}` : `${model}.${namespace}.${domain}`;
}

/** The wildcard that covers a namespace's models: `*.<ns>.<domain>` (nested) or `*.<domain>` (flat). */
export function wildcardFor(layout: HostnameLayout, namespace: string, domain: string): string {
  return layout === 'flat' ? `*.${domain}` : `*.${namespace}.${domain}`;
}

/** The ownership TXT beside {@link wildcardFor}: `_kserve-edge.<ns>.<domain>` or `_kserve-edge.<domain>`. */
export function ownershipNameFor(layout: HostnameLayout, namespace: string, domain: string): string {
  return layout === 'flat' ? `_kserve-edge.${domain}` : `_kserve-edge.${namespace}.${domain}`;
}

/**
 * Why a model's host cannot exist in a layout, or `undefined` when it can:
 * in `flat` the model and namespace share ONE label (`<model>-<namespace>`),
 * which DNS limits to 63 characters; in both, the whole name to 253.
 *
 * @example
 *   hostnameProblem('flat', 'sklearn-irisv2', 'a'.repeat(50), 'example.com') // '"sklearn-irisv2-aaa…" is 65 characters: …'
 */
export function hostnameProblem(layout: HostnameLayout, model: string, namespace: string, domain: string): string | undefined {
  const host = renderModelHost(layout, model, namespace, domain);
  const label = layout === 'flat' ? `${model}-${namespace}` : model;
  if (label.length > MAX_DNS_LABEL) {
    return (
      `the ${layout} hostname ${host} has a label "${label}" of ${label.length} characters; DNS allows ${MAX_DNS_LABEL}` +
      (layout === 'flat'
        ? ' (in the flat layout <model>-<namespace> is one label: shorten the model or namespace name, or use "nested")'
        : '')
    );
  }
  if (host.length > MAX_HOSTNAME)
    return `the ${layout} hostname ${host.slice(0, 40)}… is ${host.length} characters; DNS allows ${MAX_HOSTNAME}`;
  return undefined;
}

/** The host part of a URL (`status.url` of an InferenceService), lowercased, without a trailing dot, or `undefined`. */
export function hostOfUrl(url: unknown): string | undefined {
  if (typeof url !== 'string' || url === '') return undefined;
  try {
    const host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
    return host === '' ? undefined : host;
  } catch {
    return undefined;
  }
}
