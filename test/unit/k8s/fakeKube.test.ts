import { ObjectOwnedByAnotherError } from '../../../shared/errors';
import type { KubeObject } from '../../../shared/ports';
import { FakeKube } from '../../fakes/FakeKube';

const cm = (data: Record<string, string>, labels?: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'ns', ...(labels ? { labels } : {}) },
  data,
});
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'c' };

describe('FakeKube (the fake is only useful if it behaves like the API server)', () => {
  it('server-side apply: conflict on a field another manager set differently, unless forced', async () => {
    const kube = new FakeKube([{ object: cm({ a: '1', b: '2' }), manager: 'kubectl' }]);
    await expect(kube.apply(cm({ a: 'mine' }), { fieldManager: 'me', force: false })).rejects.toThrow(ObjectOwnedByAnotherError);
    await expect(kube.apply(cm({ a: 'mine' }), { fieldManager: 'me', force: false })).rejects.toThrow(/"kubectl"/);
    await kube.apply(cm({ a: 'mine' }), { fieldManager: 'me', force: true });
    expect(kube.peek(ref)!.data).toEqual({ a: 'mine', b: '2' });
    expect(kube.fieldManagers(ref)).toMatchObject({ 'data.a': ['me'], 'data.b': ['kubectl'] });
  });

  it('server-side apply: equal values are shared; omitted fields of the same manager are removed', async () => {
    const kube = new FakeKube([{ object: cm({ a: '1' }), manager: 'kubectl' }]);
    await kube.apply(cm({ a: '1', x: 'y', z: 'z' }), { fieldManager: 'me', force: false });
    expect(kube.fieldManagers(ref)['data.a']).toEqual(['kubectl', 'me']);
    await kube.apply(cm({ a: '1', x: 'y' }), { fieldManager: 'me', force: false });
    expect(kube.peek(ref)!.data).toEqual({ a: '1', x: 'y' });
  });

  it('JSON patch: test failure changes nothing; add/replace/remove work', async () => {
    const kube = new FakeKube([{ object: cm({ a: '1', 'b/c': '2' }) }]);
    await expect(
      kube.jsonPatch(
        ref,
        [
          { op: 'test', path: '/data/a', value: 'other' },
          { op: 'remove', path: '/data/a' },
        ],
        { fieldManager: 'me' },
      ),
    ).rejects.toThrow(/422/);
    expect(kube.peek(ref)!.data).toEqual({ a: '1', 'b/c': '2' });
    await kube.jsonPatch(
      ref,
      [
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'replace', path: '/data/a', value: '3' },
        { op: 'remove', path: '/data/b~1c' },
        { op: 'add', path: '/data/d', value: '' },
      ],
      { fieldManager: 'me' },
    );
    expect(kube.peek(ref)!.data).toEqual({ a: '3', d: '' });
  });

  it('lists by label selector; delete of a missing object succeeds', async () => {
    const kube = new FakeKube();
    await kube.apply(cm({}, { app: 'x', tier: 'a' }), { fieldManager: 'me', force: false });
    expect(await kube.list('v1', 'ConfigMap', { labelSelector: 'app=x' })).toHaveLength(1);
    expect(await kube.list('v1', 'ConfigMap', { labelSelector: 'app=x,tier!=a' })).toHaveLength(0);
    expect(await kube.list('v1', 'ConfigMap', { namespace: 'other' })).toHaveLength(0);
    await kube.delete(ref);
    await expect(kube.delete(ref)).resolves.toBeUndefined();
    expect(await kube.get(ref)).toBeUndefined();
  });
});
