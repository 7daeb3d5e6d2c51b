/**
 * The data plane's rendering of a listener rule with a `jwt-validation`
 * action: nginx loads njs and checks the rule's requests through
 * auth_request only when some rule has the action.
 */
import { describe, expect, test } from '@jest/globals';
import { jwtConfigValue, renderNginxConfig, type AlbModel, type JwtCheck, type NginxModel } from '../../../testbed/nginx';

const jwt: JwtCheck = {
  issuer: 'https://127.0.0.1:5556/dex',
  jwksEndpoint: 'https://127.0.0.1:5556/dex/keys',
  additionalClaims: [{ name: 'groups', format: 'string-array', values: ['kserve-edge:invoke'] }],
};

function model(withJwt: boolean): NginxModel {
  const alb: AlbModel = {
    key: 'istio-system/api',
    hostname: 'k8s-x-1.us-west-2.elb.amazonaws.com',
    listeners: [
      {
        albPort: 443,
        protocol: 'HTTPS',
        localPort: 10443,
        certificates: [{ arn: 'arn:c', names: ['*.example.com'], certFile: '/c.crt', keyFile: '/c.key' }],
      },
    ],
    rules: [{ path: { kind: 'prefix', value: '/' }, conditions: [], action: { type: 'gateway' }, ...(withJwt ? { jwt } : {}) }],
  };
  return {
    runDir: '/run',
    logDir: '/logs',
    controlPort: 1,
    generation: 1,
    gatewayPort: 2,
    albs: [alb],
    routes: [],
    njs: { module: '/mods/ngx_http_js_module.so', script: '/tb/njs/alb-jwt.js', trustedCaFile: '/ca.crt' },
  };
}

describe('renderNginxConfig with jwt-validation', () => {
  test('a rule with the action: njs loaded, the rule checked by auth_request with its configuration', () => {
    const conf = renderNginxConfig(model(true));
    expect(conf.startsWith('# Generated')).toBe(true);
    expect(conf).toContain('load_module "/mods/ngx_http_js_module.so";');
    expect(conf).toContain('js_import kse_alb_jwt from "/tb/njs/alb-jwt.js";');
    expect(conf).toContain('js_fetch_trusted_certificate "/ca.crt";');
    expect(conf).toContain(`"gateway-0" "${jwtConfigValue(jwt)}";`);
    expect(conf).toContain('auth_request /_kserve_edge_jwt_validation;');
    expect(conf).toContain('js_content kse_alb_jwt.verify;');
    expect(JSON.parse(Buffer.from(jwtConfigValue(jwt), 'base64url').toString('utf8'))).toEqual(jwt);
  });

  test('no rule with the action: no njs at all', () => {
    const conf = renderNginxConfig(model(false));
    expect(conf).not.toContain('load_module');
    expect(conf).not.toContain('js_');
    expect(conf).not.toContain('auth_request');
  });

  test('a rule with the action but no njs configuration is an error, not an unchecked rule', () => {
    const { njs: _njs, ...rest } = model(true);
    expect(() => renderNginxConfig(rest)).toThrow(/jwt-validation/);
  });
});
