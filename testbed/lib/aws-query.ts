/**
 * A minimal client for AWS's Query protocol (EC2, ELBv2): form-encoded POST,
 * XML answer. The testbed needs a handful of EC2 and ELBv2 calls (seeding
 * moto, reading back what the load-balancer controller built) and the project
 * has no SDK clients for those services; moto does not check signatures, so
 * the request carries only the credential scope that names the service.
 */
import http from 'node:http';

/** An element: its text, or its children by name (repeated names → array). */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

/** An error answer of a Query API (`<ErrorResponse><Error><Code>`). */
export class AwsQueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(`${code}: ${message}`);
    this.name = 'AwsQueryError';
  }
}

/** XML's five entities and numeric references back to text (`&amp;` last, so `&amp;lt;` stays `&lt;`). */
export function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

/**
 * Parses the XML of an AWS answer (elements and text; attributes, comments and
 * the declaration are dropped). An element with children becomes an object;
 * one with only text becomes the text.
 *
 * @example parseXml('<a><b>1</b><b>2</b><c/></a>') // { a: { b: ['1', '2'], c: '' } }
 */
export function parseXml(xml: string): { [name: string]: XmlNode } {
  const root: { [name: string]: XmlNode | XmlNode[] } = {};
  const stack: Array<{ name: string; children: { [name: string]: XmlNode | XmlNode[] }; text: string; hasChild: boolean }> = [
    { name: '', children: root, text: '', hasChild: false },
  ];
  const add = (parent: { children: { [name: string]: XmlNode | XmlNode[] } }, name: string, value: XmlNode) => {
    const prev = parent.children[name];
    if (prev === undefined) parent.children[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else parent.children[name] = [prev, value];
  };
  const re = /<(\/?)([A-Za-z_][\w.:-]*)([^>]*?)(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml)) !== null) {
    const top = stack[stack.length - 1]!;
    if (m[5] !== undefined) {
      top.text += m[5];
      continue;
    }
    if (m[2] === undefined) continue; // declaration or comment
    const name = m[2];
    if (m[1] === '/') {
      const done = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      add(parent, done.name, done.hasChild ? done.children : unescapeXml(done.text.trim()));
      continue;
    }
    top.hasChild = true;
    if (m[4] === '/') {
      add(top, name, '');
      continue;
    }
    stack.push({ name, children: {}, text: '', hasChild: false });
  }
  return root as { [name: string]: XmlNode };
}

/** `node` as a list: Query lists are `<member>` children (none → []). */
export function members(node: XmlNode | XmlNode[] | undefined, item = 'member'): XmlNode[] {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return Array.isArray(node) ? node : [];
  const m = node[item];
  if (m === undefined) return [];
  return Array.isArray(m) ? m : [m];
}

/** A child's text ('' when absent). */
export function text(node: XmlNode | XmlNode[] | undefined, name: string): string {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return '';
  const v = node[name];
  return typeof v === 'string' ? v : '';
}

/** A child element (undefined when absent or text). */
export function child(node: XmlNode | XmlNode[] | undefined, name: string): XmlNode | undefined {
  if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined;
  const v = node[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Flattens `{ Certificates: [{ CertificateArn: 'a' }] }` to `Certificates.member.1.CertificateArn=a` (EC2 lists: pass `ec2: true`). */
export function queryParams(params: Record<string, unknown>, ec2 = false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (prefix: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(ec2 ? `${prefix}.${i + 1}` : `${prefix}.member.${i + 1}`, v));
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else {
      out[prefix] = String(value);
    }
  };
  walk('', params);
  return out;
}

/** One Query call. Resolves with the `<Action>Result` element (EC2: the `<Action>Response` element). */
export async function queryCall(o: {
  endpoint: string;
  /** SigV4 service name: `ec2`, `elasticloadbalancing`. */
  service: string;
  region: string;
  version: string;
  action: string;
  params?: Record<string, unknown>;
  timeoutMs?: number;
}): Promise<XmlNode> {
  const ec2 = o.service === 'ec2';
  const form = new URLSearchParams({ Action: o.action, Version: o.version, ...queryParams(o.params ?? {}, ec2) }).toString();
  const url = new URL(o.endpoint);
  const date = new Date().toISOString().replace(/[-:]/g, '').slice(0, 8);
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/',
        method: 'POST',
        timeout: o.timeoutMs ?? 15_000,
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          'content-length': String(Buffer.byteLength(form)),
          authorization: `AWS4-HMAC-SHA256 Credential=testing/${date}/${o.region}/${o.service}/aws4_request, SignedHeaders=host, Signature=0`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${o.service} ${o.action}: timeout`)));
    req.on('error', reject);
    req.end(form);
  });
  const doc = parseXml(body);
  if (status < 200 || status >= 300) {
    const envelope = child(doc, 'ErrorResponse') ?? child(doc, 'Response');
    const err = child(envelope, 'Error') ?? child(child(envelope, 'Errors'), 'Error');
    throw new AwsQueryError(text(err, 'Code') || `HTTP${status}`, text(err, 'Message') || body.slice(0, 300), status);
  }
  const response = child(doc, `${o.action}Response`);
  if (response === undefined) throw new Error(`${o.service} ${o.action}: unexpected answer: ${body.slice(0, 300)}`);
  return ec2 ? response : (child(response, `${o.action}Result`) ?? '');
}
