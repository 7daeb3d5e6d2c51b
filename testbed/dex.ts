/**
 * Dex and oauth2-proxy configured as Kubeflow (≥1.9) configures them
 * (kubeflow/manifests common/dex and common/oauth2-proxy), on 127.0.0.1.
 *
 * Differences from Kubeflow, on purpose:
 *  - Dex's issuer is `http://127.0.0.1:<port>/dex` (Kubeflow:
 *    `http://dex.auth.svc.cluster.local:5556/dex`); the browser still only
 *    sees relative `/dex/...` paths on `kubeflow.<domain>`.
 *  - `skip_provider_button = true` (Kubeflow: false) so that, as with the
 *    guide's `session_cookie()` helper, a GET of the dashboard follows
 *    redirects straight to the Dex login form instead of stopping at
 *    oauth2-proxy's "Sign in with Dex" page.
 *  - `whitelist_domains = [".<domain>"]` so `rd` may point back to a model host.
 *  - Dex is master of 2026-08 (client_credentials grant): `oauth2.grantTypes`
 *    lists Dex's defaults plus `client_credentials`, and the machine clients of
 *    `token-issuer.ts` are static clients too, so a Kubeflow ≥1.9 cluster's own
 *    Dex can issue machine tokens (`Authorization: Bearer`, which skip
 *    oauth2-proxy). The login flow is unchanged.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomToken } from './aws';
import { DEX_GRANT_TYPES, machineClients } from './token-issuer';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import type { ManagedProcess, ProcessSupervisor } from './lib/proc';

export const DEX_CLIENT_ID = 'kubeflow-oidc-authservice';
export const OAUTH2_PROXY_COOKIE = 'oauth2_proxy_kubeflow';

export interface DexStack {
  dexUrl: string;
  issuer: string;
  /** The machine clients (client_credentials) of this Dex, with their secrets. */
  machineClients: { id: string; secret: string }[];
  oauth2ProxyUrl: string;
  dex: ManagedProcess;
  oauth2Proxy: ManagedProcess;
}

function toml(value: string | number | boolean | string[]): string {
  if (Array.isArray(value)) return `[ ${value.map((v) => JSON.stringify(v)).join(', ')} ]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

export async function startDexStack(o: {
  supervisor: ProcessSupervisor;
  dexBin: string;
  oauth2ProxyBin: string;
  runDir: string;
  domain: string;
  username: string;
  passwordHash: string;
}): Promise<DexStack> {
  const [dexPort, proxyPort] = [await freePort(), await freePort()];
  const issuer = `http://${LOOPBACK}:${dexPort}/dex`;
  const clientSecret = randomToken(32);
  const machine = machineClients();

  const dexConfig = {
    issuer,
    storage: { type: 'memory' },
    web: { http: `${LOOPBACK}:${dexPort}` },
    logger: { level: 'info', format: 'text' },
    oauth2: { skipApprovalScreen: true, grantTypes: DEX_GRANT_TYPES },
    enablePasswordDB: true,
    staticPasswords: [{ email: o.username, hash: o.passwordHash, username: 'user', userID: '15841185641784' }],
    staticClients: [
      { id: DEX_CLIENT_ID, name: 'Dex Login Application', secret: clientSecret, redirectURIs: ['/oauth2/callback'] },
      ...machine,
    ],
  };
  const dexConfigFile = join(o.runDir, 'dex.yaml');
  writeFileSync(dexConfigFile, `${JSON.stringify(dexConfig, null, 2)}\n`, { mode: 0o600 });
  const dex = o.supervisor.start('dex', o.dexBin, ['serve', dexConfigFile], { cwd: o.runDir });

  const cfg: Record<string, string | number | boolean | string[]> = {
    provider: 'oidc',
    oidc_issuer_url: issuer,
    scope: 'profile email groups openid',
    email_domains: ['*'],
    upstreams: ['static://200'],
    skip_auth_routes: ['^/dex/'],
    api_routes: ['/api/', '/apis/', '^/ml_metadata'],
    skip_oidc_discovery: true,
    login_url: '/dex/auth',
    redeem_url: `${issuer}/token`,
    oidc_jwks_url: `${issuer}/keys`,
    skip_provider_button: true,
    provider_display_name: 'Dex',
    prompt: 'none',
    set_authorization_header: true,
    set_xauthrequest: true,
    cookie_name: OAUTH2_PROXY_COOKIE,
    cookie_expire: '24h',
    cookie_refresh: '0s',
    cookie_secure: true,
    code_challenge_method: 'S256',
    redirect_url: '/oauth2/callback',
    relative_redirect_url: true,
    whitelist_domains: [`.${o.domain}`],
    http_address: `${LOOPBACK}:${proxyPort}`,
    client_id: DEX_CLIENT_ID,
    client_secret: clientSecret,
    cookie_secret: randomToken(32),
  };
  const cfgFile = join(o.runDir, 'oauth2_proxy.cfg');
  writeFileSync(
    cfgFile,
    `${Object.entries(cfg)
      .map(([k, v]) => `${k} = ${toml(v)}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );

  const dexUrl = `http://${LOOPBACK}:${dexPort}`;
  // Ready once the discovery document is served and a signing key exists.
  await waitFor(
    async () =>
      (await httpRequest(`${issuer}/.well-known/openid-configuration`, { timeoutMs: 1000 })).status === 200 &&
      ((JSON.parse((await httpRequest(`${issuer}/keys`, { timeoutMs: 1000 })).body) as { keys?: unknown[] }).keys?.length ?? 0) > 0,
    {
      what: 'dex discovery document and signing key',
      timeoutMs: 30_000,
      proc: dex,
    },
  );
  const oauth2Proxy = o.supervisor.start('oauth2-proxy', o.oauth2ProxyBin, [`--config=${cfgFile}`], { cwd: o.runDir });
  const oauth2ProxyUrl = `http://${LOOPBACK}:${proxyPort}`;
  await waitFor(async () => (await httpRequest(`${oauth2ProxyUrl}/ping`, { timeoutMs: 1000 })).status === 200, {
    what: 'oauth2-proxy /ping',
    timeoutMs: 30_000,
    proc: oauth2Proxy,
  });
  return { dexUrl, issuer, machineClients: machine.map((c) => ({ id: c.id, secret: c.secret })), oauth2ProxyUrl, dex, oauth2Proxy };
}
