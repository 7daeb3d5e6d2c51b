/**
 * nginx as the ALB's data plane and as the Istio ingress gateway stand-in.
 *
 * One nginx master (its own prefix, config and pid file in the run dir, never
 * the system's) serves:
 *  - one listener per ALB listener (Ingress of class alb), TLS with the leaf
 *    certificates that stand in for the ACM ones (SNI, first ARN = default),
 *    the rules of the Ingress with their http-header conditions, and the
 *    ALB's default action: fixed response 404 text/plain;
 *  - the "istio ingress gateway" on an internal port: model hosts from
 *    InferenceServices + config-domain, RBAC by AuthorizationPolicies, and in
 *    Dex mode the oauth2-proxy check and the login host;
 *  - a control endpoint whose generation number proves a reload is live.
 *
 * {@link renderNginxConfig} is pure; {@link NginxServer} runs the process.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { httpRequest, LOOPBACK, waitFor } from './lib/net';
import { childrenOf, isAlive, type ManagedProcess, type ProcessSupervisor } from './lib/proc';

const run = promisify(execFile);

// ------------------------------------------------------------------ model

/** An ALB http-header condition: the header must equal one of the values (case-insensitive; `*` and `?` wildcards). */
export interface HeaderCondition {
  header: string;
  values: string[];
}

export type AlbAction =
  | { type: 'gateway' }
  | { type: 'fixed-response'; status: number; contentType: string; body: string }
  /** A target group with no healthy target. */
  | { type: 'unavailable' };

/**
 * The ALB's `jwt-validation` action before the rule's routing action (ELBv2
 * `JwtValidationConfig`): checked by `njs/alb-jwt.js` (see there for the rules).
 */
export interface JwtCheck {
  issuer: string;
  jwksEndpoint: string;
  additionalClaims: { format: 'single-string' | 'string-array' | 'space-separated-values'; name: string; values: string[] }[];
}

export interface AlbRule {
  /** Ingress rule host; undefined = any. May start with `*.`. */
  host?: string;
  /** `prefix` `/` matches everything. */
  path: { kind: 'prefix' | 'exact'; value: string };
  conditions: HeaderCondition[];
  action: AlbAction;
  /** A `jwt-validation` action of the rule (real controller only). */
  jwt?: JwtCheck;
}

export interface AlbCertificate {
  arn: string;
  /** Names on the certificate (DomainName + SANs). */
  names: string[];
  certFile: string;
  keyFile: string;
}

export interface AlbListener {
  /** The ALB's port (80, 443). */
  albPort: number;
  protocol: 'HTTP' | 'HTTPS';
  /** Where nginx listens for it. */
  localPort: number;
  /** HTTPS only; the first is the default certificate. */
  certificates: AlbCertificate[];
}

export interface AlbModel {
  /** `<namespace>/<name>` of the Ingress. */
  key: string;
  hostname: string;
  listeners: AlbListener[];
  rules: AlbRule[];
}

export interface GatewayRoute {
  /** `<isvc>.<namespace>.<domain>` */
  host: string;
  /** Path patterns an ALLOW AuthorizationPolicy admits (Istio syntax: exact, `prefix*`, `*suffix`, `*`). */
  allowedPaths: string[];
  /** Where allowed requests go, `127.0.0.1:<port>`. */
  upstream: string;
}

export interface DexGatewayConfig {
  /** `kubeflow.<domain>` */
  dashboardHost: string;
  dexUpstream: string;
  oauth2ProxyUpstream: string;
}

/** nginx's JavaScript module (njs), loaded only when a rule has a `jwt-validation` action. */
export interface NjsConfig {
  /** `ngx_http_js_module.so` (Debian: libnginx-mod-http-js). */
  module: string;
  /** `njs/alb-jwt.js`. */
  script: string;
  /** PEM CA(s) the JWKS fetch trusts (the testbed CA, for the token issuer's certificate). */
  trustedCaFile: string;
}

/** Where Debian's libnginx-mod-http-js puts the module (KSERVE_EDGE_NGINX_JS_MODULE overrides). */
export const NJS_MODULE = process.env.KSERVE_EDGE_NGINX_JS_MODULE ?? '/usr/lib/nginx/modules/ngx_http_js_module.so';
/** The ALB's JWT check, run by njs. */
export const NJS_JWT_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'njs', 'alb-jwt.js');

export interface NginxModel {
  /** Needed when a rule has `jwt`. */
  njs?: NjsConfig;
  runDir: string;
  logDir: string;
  controlPort: number;
  generation: number;
  gatewayPort: number;
  albs: AlbModel[];
  routes: GatewayRoute[];
  dex?: DexGatewayConfig;
}

export const RBAC_DENIED_HOST = 'rbac-denied.testbed.invalid';
export const RBAC_DENIED_BODY = 'RBAC: access denied';

// ------------------------------------------------------------------ rendering

/** A double-quoted nginx string (map keys, file names: no variables there). */
function q(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A double-quoted nginx complex value (return text): a literal `$` is spelled `${dollar}`. */
function qv(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '${dollar}')}"`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/"'\s;]/g, (c) =>
    c === '"' ? '\\x22' : c === "'" ? '\\x27' : c === ' ' ? '\\x20' : c === ';' ? '\\x3b' : `\\${c}`,
  );
}

/** ALB value pattern (`*` any run, `?` one char) → regex body. */
function albPatternRegex(value: string): string {
  let out = '';
  for (const ch of value) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += escapeRegex(ch);
  }
  return out;
}

/** nginx variable holding a request header. */
export function headerVariable(name: string): string {
  return `$http_${name.toLowerCase().replace(/-/g, '_')}`;
}

function hostRegex(host: string): string {
  if (host.startsWith('*.')) return `^[^.]+\\.${escapeRegex(host.slice(2))}$`;
  return `^${escapeRegex(host)}$`;
}

function pathCovers(rulePath: AlbRule['path'], location: AlbRule['path']): boolean {
  if (rulePath.kind === 'exact') return location.kind === 'exact' && location.value === rulePath.value;
  return location.value.startsWith(rulePath.value);
}

function locationLine(path: AlbRule['path']): string {
  return path.kind === 'exact' ? `location = ${q(path.value)}` : `location ^~ ${q(path.value)}`;
}

/** Istio path pattern → nginx location (exact / prefix / regex suffix). */
function istioLocation(pattern: string): string | undefined {
  if (pattern === '*') return 'location /';
  if (pattern.endsWith('*')) return `location ^~ ${q(pattern.slice(0, -1))}`;
  if (pattern.startsWith('*')) return `location ~ ${q(`${escapeRegex(pattern.slice(1))}$`)}`;
  if (pattern.startsWith('/')) return `location = ${q(pattern)}`;
  return undefined;
}

function renderAlb(alb: AlbModel, idx: number, gatewayPort: number): { maps: string[]; servers: string[] } {
  const maps: string[] = [];
  const id = `alb${idx}`;
  // One variable per rule: 1 when its host and every header condition match.
  const ruleVars: string[] = alb.rules.map((rule, r) => {
    const parts: string[] = [];
    if (rule.host !== undefined) {
      const v = `$${id}_r${r}_host`;
      maps.push(`map $host ${v} {\n    default 0;\n    ${q(`~*${hostRegex(rule.host)}`)} 1;\n}`);
      parts.push(v);
    }
    rule.conditions.forEach((cond, c) => {
      const v = `$${id}_r${r}_c${c}`;
      const alternatives = cond.values.map(albPatternRegex).join('|');
      maps.push(`map ${headerVariable(cond.header)} ${v} {\n    default 0;\n    ${q(`~*^(?:${alternatives})$`)} 1;\n}`);
      parts.push(v);
    });
    const ruleVar = `$${id}_r${r}`;
    if (parts.length === 0) maps.push(`map $host ${ruleVar} {\n    default 1;\n}`);
    else maps.push(`map "${parts.join('')}" ${ruleVar} {\n    default 0;\n    "${'1'.repeat(parts.length)}" 1;\n}`);
    return ruleVar;
  });

  // One location per distinct rule path, plus "/" for the default action.
  const locations: AlbRule['path'][] = [];
  const seen = new Set<string>();
  for (const p of [...alb.rules.map((r) => r.path), { kind: 'prefix' as const, value: '/' }]) {
    const k = `${p.kind}:${p.value}`;
    if (!seen.has(k)) {
      seen.add(k);
      locations.push(p);
    }
  }

  const locationBlocks = locations.map((loc, l) => {
    // Rules that can match a request in this location, in priority order; the
    // first whose flag is 1 decides (map regexes are tried in order).
    const applicable = alb.rules.map((rule, r) => ({ rule, r })).filter(({ rule }) => pathCovers(rule.path, loc));
    const actionVar = `$${id}_l${l}_action`;
    if (applicable.length === 0) {
      maps.push(`map $host ${actionVar} {\n    default "none";\n}`);
    } else {
      const entries = applicable.map(({ rule, r }, k) => `    "~^${'0'.repeat(k)}1" ${q(actionName(rule.action, r))};`);
      maps.push(`map "${applicable.map(({ r }) => ruleVars[r]).join('')}" ${actionVar} {\n    default "none";\n${entries.join('\n')}\n}`);
    }
    const lines: string[] = [`    ${locationLine(loc)} {`];
    // The ALB's default action (LBC build404Action): fixed response 404, text/plain.
    lines.push(`        if (${actionVar} = "none") { return 404 $empty; }`);
    // jwt-validation runs before the rule's routing action, only for the rule
    // that matched: its configuration (or nothing) by the chosen action.
    const jwtRules = applicable.filter(({ rule }) => rule.jwt);
    if (jwtRules.length > 0) {
      const jwtVar = `$${id}_l${l}_jwt`;
      const entries = jwtRules.map(({ rule, r }) => `    ${q(actionName(rule.action, r))} ${q(jwtConfigValue(rule.jwt!))};`);
      maps.push(`map ${actionVar} ${jwtVar} {\n    default "";\n${entries.join('\n')}\n}`);
      lines.push(
        `        set $kse_jwt_config ${jwtVar};`,
        `        auth_request ${JWT_CHECK_LOCATION};`,
        '        auth_request_set $kse_jwt_www_authenticate $sent_http_www_authenticate;',
        '        add_header WWW-Authenticate $kse_jwt_www_authenticate always;',
      );
    }
    for (const { rule, r } of applicable) {
      const a = rule.action;
      if (a.type === 'fixed-response')
        lines.push(`        if (${actionVar} = ${q(actionName(a, r))}) { return ${a.status} ${qv(a.body)}; }`);
      else if (a.type === 'unavailable') lines.push(`        if (${actionVar} = ${q(actionName(a, r))}) { return 503 $empty; }`);
    }
    lines.push(`        proxy_pass http://${LOOPBACK}:${gatewayPort};`, '    }');
    return lines.join('\n');
  });

  const servers: string[] = [];
  const jwtLocation = alb.rules.some((r) => r.jwt)
    ? [`    location = ${JWT_CHECK_LOCATION} {`, '        internal;', '        js_content kse_alb_jwt.verify;', '    }']
    : [];
  for (const listener of alb.listeners) {
    const common = [
      ...jwtLocation,
      `    # ALB ${alb.hostname} (Ingress ${alb.key}) listener ${listener.protocol}:${listener.albPort}`,
      '    default_type text/plain;',
      '    proxy_http_version 1.1;',
      '    proxy_set_header Host $http_host;',
      '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      `    proxy_set_header X-Forwarded-Proto ${listener.protocol === 'HTTPS' ? 'https' : 'http'};`,
      `    proxy_set_header X-Forwarded-Port ${listener.albPort};`,
      '    proxy_set_header Connection "";',
      ...locationBlocks,
    ];
    if (listener.protocol === 'HTTP') {
      servers.push(['server {', `    listen ${LOOPBACK}:${listener.localPort};`, '    server_name _;', ...common, '}'].join('\n'));
      continue;
    }
    // HTTPS: one server block per certificate (SNI); the first is the default.
    const used = new Set<string>();
    listener.certificates.forEach((cert, i) => {
      const names = cert.names.filter((n) => !used.has(n.toLowerCase()));
      names.forEach((n) => used.add(n.toLowerCase()));
      if (names.length === 0 && i > 0) return;
      servers.push(
        [
          'server {',
          `    listen ${LOOPBACK}:${listener.localPort} ssl${i === 0 ? ' default_server' : ''};`,
          `    server_name ${names.length ? names.join(' ') : '_'};`,
          `    ssl_certificate ${q(cert.certFile)};`,
          `    ssl_certificate_key ${q(cert.keyFile)};`,
          '    ssl_protocols TLSv1.2 TLSv1.3;',
          `    # ${cert.arn}`,
          ...common,
          '}',
        ].join('\n'),
      );
    });
  }
  return { maps, servers };
}

/** The auth_request location of the JWT check (njs). */
const JWT_CHECK_LOCATION = '/_kserve_edge_jwt_validation';

/** A rule's JWT check as the njs script reads it (`$kse_jwt_config`): base64url JSON, safe in any nginx string. */
export function jwtConfigValue(jwt: JwtCheck): string {
  return Buffer.from(JSON.stringify(jwt)).toString('base64url');
}

function actionName(action: AlbAction, r: number): string {
  return `${action.type}-${r}`;
}

function renderGateway(model: NginxModel): string[] {
  const gw = model.gatewayPort;
  const servers: string[] = [];
  // Unknown host: Envoy answers 404 with an empty body (route not found).
  servers.push(
    [
      'server {',
      `    listen ${LOOPBACK}:${gw} default_server;`,
      '    server_name _;',
      '    default_type text/plain;',
      '    location / { return 404 $empty; }',
      '}',
    ].join('\n'),
  );
  servers.push(
    [
      'server {',
      `    listen ${LOOPBACK}:${gw};`,
      `    server_name ${RBAC_DENIED_HOST};`,
      '    default_type text/plain;',
      `    location / { return 403 ${qv(RBAC_DENIED_BODY)}; }`,
      '}',
    ].join('\n'),
  );
  const dex = model.dex;
  for (const route of model.routes) {
    const lines = [
      'server {',
      `    listen ${LOOPBACK}:${gw};`,
      `    server_name ${route.host};`,
      '    default_type text/plain;',
      '    proxy_http_version 1.1;',
      '    proxy_set_header Connection "";',
    ];
    if (dex) {
      lines.push(
        '    auth_request /_kserve_edge_oauth2_auth;',
        '    error_page 401 = @kserve_edge_login;',
        '    location = /_kserve_edge_oauth2_auth {',
        '        internal;',
        '        auth_request off;',
        `        proxy_pass http://${dex.oauth2ProxyUpstream}/oauth2/auth;`,
        '        proxy_pass_request_body off;',
        '        proxy_set_header Content-Length "";',
        `        proxy_set_header Host ${dex.dashboardHost};`,
        '        proxy_set_header X-Forwarded-Proto https;',
        '        proxy_set_header X-Forwarded-Uri $request_uri;',
        '    }',
        '    location @kserve_edge_login {',
        `        return 302 https://${dex.dashboardHost}/oauth2/start?rd=https://$host$uri;`,
        '    }',
      );
    }
    const seen = new Set<string>();
    for (const pattern of route.allowedPaths) {
      const loc = istioLocation(pattern);
      if (!loc || seen.has(loc)) continue;
      seen.add(loc);
      lines.push(`    ${loc} {`, `        proxy_pass http://${route.upstream};`, '    }');
    }
    if (!seen.has('location /')) {
      lines.push(
        '    location / {',
        `        proxy_pass http://${LOOPBACK}:${gw};`,
        `        proxy_set_header Host ${RBAC_DENIED_HOST};`,
        '    }',
      );
    }
    lines.push('}');
    servers.push(lines.join('\n'));
  }
  if (dex) {
    servers.push(
      [
        'server {',
        `    listen ${LOOPBACK}:${gw};`,
        `    server_name ${dex.dashboardHost};`,
        '    proxy_http_version 1.1;',
        '    proxy_set_header Host $http_host;',
        '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
        '    proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;',
        '    proxy_set_header Connection "";',
        `    location /dex/ { proxy_pass http://${dex.dexUpstream}; }`,
        `    location / { proxy_pass http://${dex.oauth2ProxyUpstream}; }`,
        '}',
      ].join('\n'),
    );
  }
  return servers;
}

/** The complete nginx.conf for `model`. */
export function renderNginxConfig(model: NginxModel): string {
  const tmp = join(model.runDir, 'tmp');
  const maps: string[] = [];
  const servers: string[] = [];
  model.albs.forEach((alb, i) => {
    const r = renderAlb(alb, i, model.gatewayPort);
    maps.push(...r.maps);
    servers.push(...r.servers);
  });
  servers.push(...renderGateway(model));
  const jwt = model.albs.some((a) => a.rules.some((r) => r.jwt));
  if (jwt && !model.njs) throw new Error('a listener rule has a jwt-validation action but nginx has no njs configuration');
  const njsHttp =
    jwt && model.njs
      ? [
          `    js_import kse_alb_jwt from ${q(model.njs.script)};`,
          `    js_fetch_trusted_certificate ${q(model.njs.trustedCaFile)};`,
          '    js_fetch_timeout 5s;',
        ].join('\n')
      : '';
  servers.push(
    [
      'server {',
      `    listen ${LOOPBACK}:${model.controlPort};`,
      '    default_type text/plain;',
      `    location = /generation { return 200 "${model.generation}"; }`,
      '}',
    ].join('\n'),
  );
  return `# Generated by the kserve-edge testbed (generation ${model.generation}); do not edit.
${jwt && model.njs ? `load_module ${q(model.njs.module)};\n` : ''}daemon off;
master_process on;
worker_processes 1;
pid ${q(join(model.runDir, 'nginx.pid'))};
error_log ${q(join(model.logDir, 'nginx-error.log'))} notice;

# One probe holds a connection at each hop (client, ALB stand-in, gateway, upstream): a canary of 500
# namespaces probes all at once, and 512 connections answered it with 500s. An ALB has no such limit.
worker_rlimit_nofile 16384;
events {
    worker_connections 8192;
}

http {
    log_format testbed '$remote_addr [$time_local] $server_port "$host" "$request" $status $body_bytes_sent "$http_user_agent" rt=$request_time';
    access_log ${q(join(model.logDir, 'nginx-access.log'))} testbed;
    client_body_temp_path ${q(join(tmp, 'body'))};
    proxy_temp_path ${q(join(tmp, 'proxy'))};
    fastcgi_temp_path ${q(join(tmp, 'fastcgi'))};
    uwsgi_temp_path ${q(join(tmp, 'uwsgi'))};
    scgi_temp_path ${q(join(tmp, 'scgi'))};
    server_tokens off;
    server_names_hash_bucket_size 256;
    server_names_hash_max_size 4096;
    map_hash_bucket_size 256;
    variables_hash_bucket_size 256;
    proxy_buffering off;
    proxy_read_timeout 30s;
    keepalive_timeout 5s;
    # A literal "$" inside quoted strings.
    geo $dollar {
        default "$";
    }
    # An empty body: nginx answers an empty literal text with its HTML error page,
    # but a variable that expands to nothing gives Content-Length 0 (as the ALB).
    geo $empty {
        default "";
    }
${njsHttp}

${maps.join('\n')}

${servers.join('\n\n')}
}
`;
}

// ------------------------------------------------------------------ process

export class NginxServer {
  private proc: ManagedProcess | undefined;
  private generation = 0;
  readonly confFile: string;

  constructor(
    private readonly nginx: string,
    private readonly runDir: string,
    private readonly logDir: string,
    private readonly supervisor: ProcessSupervisor,
    readonly controlPort: number,
  ) {
    this.confFile = join(runDir, 'nginx.conf');
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(runDir, 'tmp', d), { recursive: true });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private baseArgs(): string[] {
    return ['-p', this.runDir, '-c', this.confFile, '-e', join(this.logDir, 'nginx-error.log')];
  }

  private async writeChecked(model: Omit<NginxModel, 'generation' | 'runDir' | 'logDir' | 'controlPort'>): Promise<number> {
    const generation = this.generation + 1;
    const text = renderNginxConfig({ ...model, generation, runDir: this.runDir, logDir: this.logDir, controlPort: this.controlPort });
    const candidate = join(this.runDir, `nginx.conf.${generation}`);
    writeFileSync(candidate, text);
    try {
      await run(this.nginx, ['-t', '-q', '-p', this.runDir, '-c', candidate, '-e', join(this.logDir, 'nginx-error.log')], {
        timeout: 15_000,
      });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`nginx rejected generation ${generation} (${candidate}): ${e.stderr ?? e.message}`, { cause: err });
    }
    renameSync(candidate, this.confFile);
    this.generation = generation;
    return generation;
  }

  /** Starts nginx with `model`; resolves once it serves that generation. */
  async start(model: Omit<NginxModel, 'generation' | 'runDir' | 'logDir' | 'controlPort'>): Promise<void> {
    const generation = await this.writeChecked(model);
    this.proc = this.supervisor.start('nginx', this.nginx, this.baseArgs(), { cwd: this.runDir });
    await this.waitGeneration(generation, this.proc);
  }

  /** Writes, checks and loads a new config; resolves once nginx serves it. */
  async reload(model: Omit<NginxModel, 'generation' | 'runDir' | 'logDir' | 'controlPort'>): Promise<void> {
    if (!this.proc || this.proc.exit) throw new Error('nginx is not running');
    const generation = await this.writeChecked(model);
    const oldWorkers = childrenOf(this.proc.pid);
    process.kill(this.proc.pid, 'SIGHUP');
    await this.waitGeneration(generation, this.proc);
    // The old workers keep accepting until they get the shutdown message; a
    // request in that window would still see the old config.
    await waitFor(async () => oldWorkers.every((pid) => !isAlive(pid)), {
      what: `old nginx workers ${oldWorkers.join(', ')} to exit`,
      timeoutMs: 15_000,
      intervalMs: 10,
      proc: this.proc,
    });
  }

  private async waitGeneration(generation: number, proc: ManagedProcess): Promise<void> {
    await waitFor(
      async () => {
        const r = await httpRequest(`http://${LOOPBACK}:${this.controlPort}/generation`, { timeoutMs: 1000 });
        return r.status === 200 && r.body.trim() === String(generation);
      },
      { what: `nginx generation ${generation}`, timeoutMs: 15_000, intervalMs: 25, proc },
    );
  }
}
