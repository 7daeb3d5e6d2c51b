import { CookieJar, parseSetCookie } from '../../../shared/canary/cookies';

const DASH = 'https://kubeflow.platform.example.com/';

describe('parseSetCookie', () => {
  const url = new URL('https://kubeflow.platform.example.com/dex/auth/local');

  it('reads name, value and attributes', () => {
    const c = parseSetCookie(
      'oauth2_proxy_kubeflow=abc=def; Path=/; Domain=.platform.example.com; Secure; HttpOnly; Max-Age=60; SameSite=Lax',
      url,
      1000,
    );
    expect(c).toEqual({
      name: 'oauth2_proxy_kubeflow',
      value: 'abc=def',
      domain: 'platform.example.com',
      hostOnly: false,
      path: '/',
      expiresAt: 61_000,
      secure: true,
      httpOnly: true,
    });
  });

  it('defaults to a host-only cookie on the directory of the request path', () => {
    expect(parseSetCookie('a=1', url, 0)).toMatchObject({ domain: 'kubeflow.platform.example.com', hostOnly: true, path: '/dex/auth' });
  });

  it('prefers Max-Age over Expires', () => {
    const c = parseSetCookie('a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=10', url, 5000);
    expect(c?.expiresAt).toBe(15_000);
    expect(parseSetCookie('a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT', url, 0)?.expiresAt).toBe(Date.UTC(2015, 9, 21, 7, 28));
  });

  it('ignores cookies for a foreign domain and malformed pairs', () => {
    expect(parseSetCookie('a=1; Domain=evil.example.org', url, 0)).toBeUndefined();
    expect(parseSetCookie('novalue', url, 0)).toBeUndefined();
    expect(parseSetCookie('=1', url, 0)).toBeUndefined();
  });
});

describe('CookieJar', () => {
  it('sends cookies back by host, path and scheme, longest path first', () => {
    // Prepare
    const jar = new CookieJar();
    jar.setFromResponse(`${DASH}oauth2/start`, [
      'csrf=1; Path=/oauth2',
      'root=2; Path=/',
      'sec=3; Path=/; Secure',
      'wide=4; Domain=platform.example.com; Path=/',
    ]);
    // Assess
    expect(jar.cookieHeader(`${DASH}oauth2/callback?code=x`)).toBe('csrf=1; root=2; sec=3; wide=4');
    expect(jar.cookieHeader(`${DASH}oauth2x`)).toBe('root=2; sec=3; wide=4');
    expect(jar.cookieHeader('http://kubeflow.platform.example.com/')).toBe('root=2; wide=4');
    expect(jar.cookieHeader('https://model.staging.platform.example.com/')).toBe('wide=4');
    expect(jar.cookieHeader('https://example.org/')).toBe('');
  });

  it('replaces a cookie of the same name, domain and path, and deletes it with Max-Age=0', () => {
    const jar = new CookieJar();
    jar.setFromResponse(DASH, 'a=1; Path=/');
    jar.setFromResponse(DASH, 'a=2; Path=/');
    expect(jar.cookieHeader(DASH)).toBe('a=2');
    jar.setFromResponse(DASH, 'a=; Path=/; Max-Age=0');
    expect(jar.cookieHeader(DASH)).toBe('');
    expect(jar.all()).toEqual([]);
  });

  it('drops cookies once they expire', () => {
    let now = 1_000_000;
    const jar = new CookieJar({ now: () => now });
    jar.setFromResponse(DASH, ['short=1; Max-Age=5', 'session=2']);
    expect(jar.cookieHeader(DASH)).toBe('short=1; session=2');
    now += 6000;
    expect(jar.cookieHeader(DASH)).toBe('session=2');
  });

  it('ignores a response without Set-Cookie', () => {
    const jar = new CookieJar();
    expect(jar.setFromResponse(DASH, undefined)).toEqual([]);
  });
});
