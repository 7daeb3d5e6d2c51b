/**
 * A real OAuth2 token issuer for machine-to-machine clients: Dex (master,
 * with the `client_credentials` grant, dexidp/dex PR #4583) over HTTPS with
 * a certificate from the testbed CA, standing in for a Cognito user pool's
 * token endpoint or any OIDC issuer with RS256 keys.
 *
 * Why HTTPS: ELBv2 takes only an `https://` JWKS endpoint
 * (API reference, `JwtValidationActionConfig.JwksEndpoint`: "This must be a
 * full URL, including the HTTPS protocol, the domain, and the path").
 *
 * Three Dex processes at most, all real:
 *  - the issuer (`issuer`, `tokenEndpoint`, `jwksUri`), started with the testbed;
 *  - on first use of {@link TokenIssuer.mintExpiredToken}, a sibling with the
 *    same issuer string, the same static clients and the same storage (Dex's
 *    etcd storage, in the testbed's etcd under its own prefix), so it signs
 *    with the same keys, but with `expiry.idTokens` of 1 s: its tokens are
 *    genuine tokens of this issuer that expire after a second;
 *  - on first use of {@link TokenIssuer.mintForeignToken}, an unrelated Dex
 *    (another issuer URL, its own keys in memory): a well-formed token from
 *    another issuer.
 *
 * What Dex puts in a client_credentials token (read in the module,
 * server/grants/clientcredentials.go and server/tokens/issuer.go, and seen in
 * real answers; the access token and the ID token carry the same claims):
 * `iss`, `sub` (Dex's encoded subject of the client id and an empty
 * connector), `aud` = the client id (a single string; an array with
 * `azp` when `audience:server:client_id:<peer>` scopes are asked for),
 * `exp`, `iat`, `jti`, `at_hash`; with scope `groups` the client's
 * `clientCredentialsClaims.groups` as `groups` (string array); with
 * `profile` the client's name as `name` and `preferred_username`; with
 * `email` only `email_verified: false`. No `scope`, no `nbf`, no
 * `client_id`. `offline_access` is refused (`invalid_scope`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomToken } from './aws';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import type { CertFiles, Pki } from './lib/pki';
import type { ManagedProcess, ProcessSupervisor } from './lib/proc';

/** The confidential client the canary (and the tests) use. */
export const M2M_CLIENT_ID = 'kserve-edge-canary';
/** A second confidential client, with other groups: a token of the right issuer that fails a claim. */
export const M2M_OTHER_CLIENT_ID = 'kserve-edge-other';
/** Groups Dex puts in the canary client's tokens (scope `groups`). */
export const M2M_GROUPS = ['kserve-edge:invoke'];
/** Groups of the other client. */
export const M2M_OTHER_GROUPS = ['kserve-edge:other'];

/** Dex's default grant types (cmd/dex/serve.go applyConfigOverrides) plus client_credentials. */
export const DEX_GRANT_TYPES = [
  'authorization_code',
  'implicit',
  'password',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'client_credentials',
];

/** What a machine client needs to get a token, and what a verifier needs to check it. */
export interface TokenIssuerClient {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  issuer: string;
  jwksUri: string;
}

/** A token endpoint answer (RFC 6749 §5.1). */
export interface MintedToken {
  accessToken: string;
  /** Present when scope `openid` was asked for. */
  idToken?: string;
  expiresIn: number;
  /** The access token's payload, decoded (not verified). */
  claims: Record<string, unknown>;
}

export interface MintOptions {
  /** Default `openid groups profile`. */
  scopes?: string[];
  /** Default the canary client ({@link M2M_CLIENT_ID}). */
  client?: 'canary' | 'other';
}

/** A static client of Dex's config (storage.Client fields as JSON). */
export interface DexStaticClient {
  id: string;
  name: string;
  secret: string;
  redirectURIs: string[];
  clientCredentialsClaims?: { groups: string[] };
}

/** The two machine clients, with fresh secrets. */
export function machineClients(): DexStaticClient[] {
  return [
    {
      id: M2M_CLIENT_ID,
      name: 'kserve-edge canary',
      secret: randomToken(32),
      redirectURIs: [],
      clientCredentialsClaims: { groups: M2M_GROUPS },
    },
    {
      id: M2M_OTHER_CLIENT_ID,
      name: 'kserve-edge other client',
      secret: randomToken(32),
      redirectURIs: [],
      clientCredentialsClaims: { groups: M2M_OTHER_GROUPS },
    },
  ];
}

function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Gets a token by the client_credentials grant (client_secret_basic), from the real token endpoint. */
export async function clientCredentialsToken(
  o: { tokenEndpoint: string; clientId: string; clientSecret: string; scopes?: string[] },
  ca: string,
): Promise<MintedToken> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: (o.scopes ?? ['openid', 'groups', 'profile']).join(' ') });
  const res = await httpRequest(o.tokenEndpoint, {
    method: 'POST',
    ca,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(o.clientId)}:${encodeURIComponent(o.clientSecret)}`).toString('base64')}`,
    },
    body: body.toString(),
  });
  if (res.status !== 200) throw new Error(`token endpoint ${o.tokenEndpoint} answered ${res.status}: ${res.body.slice(0, 300)}`);
  const t = JSON.parse(res.body) as { access_token: string; id_token?: string; expires_in: number };
  return {
    accessToken: t.access_token,
    ...(t.id_token ? { idToken: t.id_token } : {}),
    expiresIn: t.expires_in,
    claims: decodePayload(t.access_token),
  };
}

interface DexInstance {
  proc: ManagedProcess;
  url: string;
}

/** See the module comment. */
export class TokenIssuer {
  private sibling: Promise<DexInstance> | undefined;
  private foreign: Promise<{ instance: DexInstance; issuer: string; client: DexStaticClient }> | undefined;

  private constructor(
    private readonly o: {
      supervisor: ProcessSupervisor;
      dexBin: string;
      runDir: string;
      ca: CertFiles;
      cert: CertFiles;
      etcdUrl: string;
      prefix: string;
    },
    /** `https://127.0.0.1:<port>/dex`. */
    readonly issuer: string,
    private readonly clients: DexStaticClient[],
    readonly process: ManagedProcess,
  ) {}

  /** Starts the issuer: Dex on HTTPS, storage in the testbed's etcd (`etcdUrl`). Resolves once its keys are served. */
  static async start(o: {
    supervisor: ProcessSupervisor;
    dexBin: string;
    runDir: string;
    pki: Pki;
    ca: CertFiles;
    etcdUrl: string;
  }): Promise<TokenIssuer> {
    // The address as an IP SAN (Node's check) and as a DNS SAN too: njs's fetch
    // checks the URL's host against DNS names only (X509_check_host).
    const cert = await o.pki.issueLeaf(o.ca, o.runDir, 'token-issuer', { commonName: LOOPBACK, dnsNames: [LOOPBACK], ips: [LOOPBACK] });
    const port = await freePort();
    const issuer = `https://${LOOPBACK}:${port}/dex`;
    const clients = machineClients();
    const base = {
      supervisor: o.supervisor,
      dexBin: o.dexBin,
      runDir: o.runDir,
      ca: o.ca,
      cert,
      etcdUrl: o.etcdUrl,
      prefix: `kserve-edge-dex-${randomToken(8)}/`,
    };
    const instance = await startDex(base, { name: 'token-issuer', issuer, port, clients, idTokens: '24h', storage: 'etcd' });
    return new TokenIssuer(base, issuer, clients, instance.proc);
  }

  /** The canary's client (or the other one) and where the issuer's endpoints are. */
  client(which: 'canary' | 'other' = 'canary'): TokenIssuerClient {
    const c = this.clients[which === 'canary' ? 0 : 1]!;
    return {
      tokenEndpoint: `${this.issuer}/token`,
      clientId: c.id,
      clientSecret: c.secret,
      issuer: this.issuer,
      jwksUri: `${this.issuer}/keys`,
    };
  }

  /** A token from the issuer's real token endpoint (client_credentials). */
  mintToken(options: MintOptions = {}): Promise<MintedToken> {
    return clientCredentialsToken(
      { ...this.client(options.client), ...(options.scopes ? { scopes: options.scopes } : {}) },
      this.o.ca.certPem,
    );
  }

  /**
   * A token of this issuer, signed with its keys, that has expired: minted
   * by the sibling Dex (same issuer, clients and storage, tokens valid 1 s),
   * then waited out (exp has whole-second resolution: until a second past it).
   */
  async mintExpiredToken(options: MintOptions = {}): Promise<MintedToken> {
    this.sibling ??= (async () => {
      const port = await freePort();
      return startDex(this.o, {
        name: 'token-issuer-short',
        issuer: this.issuer,
        port,
        clients: this.clients,
        idTokens: '1s',
        storage: 'etcd',
      });
    })();
    const sibling = await this.sibling;
    const c = this.client(options.client);
    const t = await clientCredentialsToken(
      { ...c, tokenEndpoint: `${sibling.url}/token`, ...(options.scopes ? { scopes: options.scopes } : {}) },
      this.o.ca.certPem,
    );
    const exp = Number(t.claims.exp);
    const waitMs = exp * 1000 + 1100 - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    return t;
  }

  /** A well-formed RS256 token of another issuer (an unrelated Dex with its own keys), for a client of the same name. */
  async mintForeignToken(options: MintOptions = {}): Promise<MintedToken & { issuer: string }> {
    this.foreign ??= (async () => {
      const port = await freePort();
      const issuer = `https://${LOOPBACK}:${port}/dex`;
      const clients = machineClients();
      const instance = await startDex(this.o, { name: 'token-issuer-foreign', issuer, port, clients, idTokens: '24h', storage: 'memory' });
      return { instance, issuer, client: clients[options.client === 'other' ? 1 : 0]! };
    })();
    const f = await this.foreign;
    const t = await clientCredentialsToken(
      {
        tokenEndpoint: `${f.issuer}/token`,
        clientId: f.client.id,
        clientSecret: f.client.secret,
        ...(options.scopes ? { scopes: options.scopes } : {}),
      },
      this.o.ca.certPem,
    );
    return { ...t, issuer: f.issuer };
  }
}

async function startDex(
  o: { supervisor: ProcessSupervisor; dexBin: string; runDir: string; ca: CertFiles; cert: CertFiles; etcdUrl: string; prefix: string },
  d: { name: string; issuer: string; port: number; clients: DexStaticClient[]; idTokens: string; storage: 'etcd' | 'memory' },
): Promise<DexInstance> {
  const config = {
    issuer: d.issuer,
    // etcd: the sibling signs with the issuer's keys (Dex keeps its signing keys in its storage).
    storage: d.storage === 'etcd' ? { type: 'etcd', config: { endpoints: [o.etcdUrl], namespace: o.prefix } } : { type: 'memory' },
    web: { https: `${LOOPBACK}:${d.port}`, tlsCert: o.cert.certFile, tlsKey: o.cert.keyFile },
    logger: { level: 'info', format: 'text' },
    oauth2: { skipApprovalScreen: true, grantTypes: DEX_GRANT_TYPES },
    expiry: { idTokens: d.idTokens },
    // Dex refuses to start without a connector; the password DB (with no
    // users) is the lightest. client_credentials uses none.
    enablePasswordDB: true,
    staticClients: d.clients,
  };
  const file = join(o.runDir, `${d.name}.yaml`);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  const proc = o.supervisor.start(d.name, o.dexBin, ['serve', file], { cwd: o.runDir });
  const url = `https://${LOOPBACK}:${d.port}/dex`;
  await waitFor(
    async () => {
      const keys = await httpRequest(`${url}/keys`, { ca: o.ca.certPem, timeoutMs: 1000 });
      return keys.status === 200 && ((JSON.parse(keys.body) as { keys?: unknown[] }).keys?.length ?? 0) > 0;
    },
    { what: `${d.name} (Dex) signing key`, timeoutMs: 30_000, proc },
  );
  return { proc, url };
}
