/**
 * Certificates for the testbed, made with Debian's openssl (ECDSA P-256):
 * a CA for the fake ALB (its leaf certificates stand in for ACM's), a CA and
 * serving certificate for kube-apiserver, and the service-account key pair.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles {
  certFile: string;
  keyFile: string;
  certPem: string;
}

export class Pki {
  constructor(private readonly openssl: string) {}

  private async exec(args: string[]): Promise<void> {
    try {
      await run(this.openssl, args, { timeout: 20_000 });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`, { cause: err });
    }
  }

  private async ecKey(keyFile: string): Promise<void> {
    await this.exec(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
  }

  /** A self-signed CA valid for `days`. */
  async createCa(dir: string, base: string, commonName: string, days = 30): Promise<CertFiles> {
    const keyFile = join(dir, `${base}.key`);
    const certFile = join(dir, `${base}.crt`);
    await this.ecKey(keyFile);
    await this.exec([
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-out',
      certFile,
      '-days',
      String(days),
      '-sha256',
      '-subj',
      `/O=kserve-edge testbed/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectKeyIdentifier=hash',
    ]);
    return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
  }

  /**
   * A server (and client) leaf certificate for `dnsNames` (wildcards allowed)
   * and `ips`, signed by `ca`.
   */
  async issueLeaf(
    ca: CertFiles,
    dir: string,
    base: string,
    subject: { commonName: string; dnsNames?: string[]; ips?: string[]; days?: number },
  ): Promise<CertFiles> {
    const keyFile = join(dir, `${base}.key`);
    const csrFile = join(dir, `${base}.csr`);
    const extFile = join(dir, `${base}.ext`);
    const certFile = join(dir, `${base}.crt`);
    await this.ecKey(keyFile);
    // openssl -subj wants '/' and '=' escaped inside values; names here are DNS names.
    const cn = subject.commonName.slice(0, 64);
    await this.exec(['req', '-new', '-key', keyFile, '-out', csrFile, '-subj', `/CN=${cn}`]);
    const sans = [...(subject.dnsNames ?? []).map((d) => `DNS:${d}`), ...(subject.ips ?? []).map((i) => `IP:${i}`)];
    writeFileSync(
      extFile,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        'authorityKeyIdentifier=keyid',
        ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    await this.exec([
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      `0x${randomBytes(12).toString('hex')}`,
      '-days',
      String(subject.days ?? 7),
      '-sha256',
      '-extfile',
      extFile,
      '-out',
      certFile,
    ]);
    return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
  }

  /** An EC key pair (PEM files) for signing service-account tokens. */
  async keyPair(dir: string, base: string): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
    const privateKeyFile = join(dir, `${base}.key`);
    const publicKeyFile = join(dir, `${base}.pub`);
    await this.ecKey(privateKeyFile);
    await this.exec(['pkey', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile]);
    return { privateKeyFile, publicKeyFile };
  }
}
