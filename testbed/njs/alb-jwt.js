/* global ngx, crypto -- njs's globals (nginx JavaScript module) */
/*
 * The ALB's `jwt-validation` action, for the testbed's nginx data plane
 * (njs 0.7.9, Debian's libnginx-mod-http-js). Runs as the auth_request
 * subrequest of a listener rule that has the action; answers 204 (forward)
 * or 401. Signature checking is WebCrypto's (crypto.subtle), not ours.
 *
 * What the ALB checks (User Guide, "Verify JWTs using an Application Load
 * Balancer", listener-verify-jwt; API reference JwtValidationActionConfig and
 * JwtValidationActionAdditionalClaim), each rule marked [doc] below:
 *  - the token in the request's Authorization header (Bearer);
 *  - [doc] "Only the RS256 algorithm is supported";
 *  - [doc] the signature, with the public keys of the configured JWKS
 *    endpoint, which must answer at most 150 KB and 10 keys, else the ALB
 *    "will not forward the request";
 *  - [doc] "requires two mandatory claims: 'iss' (issuer) and 'exp'
 *    (expiration)": iss equal to the configured issuer, exp in the future;
 *  - [doc] "if present in the token, ALB will also validate 'nbf' (not
 *    before) and 'iat' (issued at time)";
 *  - [doc] up to 10 additional claims, formats single-string,
 *    space-separated-values, string-array. The documentation does not say
 *    whether every listed value or one of them must be present; the
 *    testbed takes one of them (a single string can only equal one).
 *  - [doc] "If the token is valid, the load balancer forwards the request with
 *    token as is to the target. Otherwise, it rejects the request": 401. The
 *    WWW-Authenticate value is RFC 6750's (§3: `Bearer`, with
 *    `error="invalid_token"` when a token was sent); the AWS documentation
 *    does not show the ALB's.
 *
 * njs 0.7.9 cannot import a JWK (its importKey takes spki, pkcs8 and raw), so
 * the RSA public key (n, e) is wrapped in a SubjectPublicKeyInfo (DER) here.
 */

var MAX_JWKS_BYTES = 150 * 1024;
var MAX_JWKS_KEYS = 10;

function derLength(n) {
  if (n < 128) return Buffer.from([n]);
  var bytes = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = n >> 8;
  }
  return Buffer.from([0x80 | bytes.length].concat(bytes));
}

function der(tag, content) {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derUnsignedInteger(bytes) {
  var i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  var v = bytes.slice(i);
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return der(0x02, v);
}

/** RSA public key (JWK n, e) → SubjectPublicKeyInfo DER (RFC 8017 A.1.1, RFC 5280 4.1). */
function spkiFromJwk(jwk) {
  var rsaPublicKey = der(
    0x30,
    Buffer.concat([derUnsignedInteger(Buffer.from(jwk.n, 'base64url')), derUnsignedInteger(Buffer.from(jwk.e, 'base64url'))]),
  );
  // AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
  var algorithm = Buffer.from('300d06092a864886f70d0101010500', 'hex');
  return der(0x30, Buffer.concat([algorithm, der(0x03, Buffer.concat([Buffer.from([0]), rsaPublicKey]))]));
}

function decodeJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString());
}

function claimMatches(payload, claim) {
  var v = payload[claim.name];
  var wanted = claim.values;
  if (claim.format === 'single-string') return typeof v === 'string' && wanted.indexOf(v) >= 0;
  if (claim.format === 'space-separated-values') {
    return (
      typeof v === 'string' &&
      v.split(' ').some(function (x) {
        return x !== '' && wanted.indexOf(x) >= 0;
      })
    );
  }
  if (claim.format === 'string-array') {
    return (
      Array.isArray(v) &&
      v.some(function (x) {
        return typeof x === 'string' && wanted.indexOf(x) >= 0;
      })
    );
  }
  return false;
}

function refuse(r, sentToken, why) {
  r.warn('kserve-edge jwt-validation: refused: ' + why);
  r.headersOut['WWW-Authenticate'] = sentToken ? 'Bearer error="invalid_token"' : 'Bearer';
  r.return(401);
}

async function verify(r) {
  // The rule that matched has no jwt-validation action (another rule of the same location had one).
  if (!r.variables.kse_jwt_config) {
    r.return(204);
    return;
  }
  var cfg;
  try {
    cfg = JSON.parse(Buffer.from(r.variables.kse_jwt_config || '', 'base64url').toString());
  } catch (e) {
    r.error('kserve-edge jwt-validation: no rule configuration: ' + e);
    r.return(500);
    return;
  }
  var auth = r.headersIn.Authorization || '';
  var m = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*$/i.exec(auth);
  if (!m) {
    refuse(r, auth !== '', auth === '' ? 'no token' : 'not a bearer JWT');
    return;
  }
  var header;
  var payload;
  try {
    header = decodeJson(m[1]);
    payload = decodeJson(m[2]);
  } catch (e) {
    refuse(r, true, 'token is not JSON: ' + e);
    return;
  }
  if (header.alg !== 'RS256') {
    refuse(r, true, 'alg ' + header.alg + ' (only RS256)');
    return;
  }
  var keys;
  try {
    var res = await ngx.fetch(cfg.jwksEndpoint, { max_response_body_size: MAX_JWKS_BYTES + 1 });
    var text = await res.text();
    if (res.status !== 200) throw new Error('JWKS endpoint answered ' + res.status);
    if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS larger than 150 KB');
    keys = JSON.parse(text).keys || [];
    if (keys.length > MAX_JWKS_KEYS) throw new Error('JWKS has ' + keys.length + ' keys (at most 10)');
  } catch (e) {
    refuse(r, true, 'JWKS ' + cfg.jwksEndpoint + ': ' + e.message);
    return;
  }
  var candidates = keys.filter(function (k) {
    return k.kty === 'RSA' && (!k.use || k.use === 'sig') && (!header.kid || k.kid === header.kid);
  });
  var signed = Buffer.from(m[1] + '.' + m[2]);
  var signature = Buffer.from(m[3], 'base64url');
  var good = false;
  for (var i = 0; i < candidates.length && !good; i++) {
    try {
      var key = await crypto.subtle.importKey('spki', spkiFromJwk(candidates[i]), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, [
        'verify',
      ]);
      good = await crypto.subtle.verify({ name: 'RSASSA-PKCS1-v1_5' }, key, signature, signed);
    } catch (e) {
      r.warn('kserve-edge jwt-validation: key ' + candidates[i].kid + ': ' + e);
    }
  }
  if (!good) {
    refuse(r, true, 'signature does not verify with the JWKS (' + candidates.length + ' candidate keys)');
    return;
  }
  var now = Math.floor(Date.now() / 1000);
  if (payload.iss !== cfg.issuer) {
    refuse(r, true, 'iss ' + payload.iss + ' is not ' + cfg.issuer);
    return;
  }
  if (typeof payload.exp !== 'number') {
    refuse(r, true, 'no exp');
    return;
  }
  if (now >= payload.exp) {
    refuse(r, true, 'expired at ' + payload.exp + ' (now ' + now + ')');
    return;
  }
  if (payload.nbf !== undefined && !(typeof payload.nbf === 'number' && now >= payload.nbf)) {
    refuse(r, true, 'not before ' + payload.nbf);
    return;
  }
  if (payload.iat !== undefined && !(typeof payload.iat === 'number' && payload.iat <= now)) {
    refuse(r, true, 'issued in the future (' + payload.iat + ')');
    return;
  }
  var claims = cfg.additionalClaims || [];
  for (var c = 0; c < claims.length; c++) {
    if (!claimMatches(payload, claims[c])) {
      refuse(r, true, 'claim ' + claims[c].name + ' (' + claims[c].format + ') does not match');
      return;
    }
  }
  r.return(204);
}

export default { verify: verify, spkiFromJwk: spkiFromJwk };
