// The contract test trusts support/kubelet-env.ts to compute what the kubelet would; these pin
// down the kubelet rules it models.
import { describe, expect, it } from 'vitest';
import { clusterState, containerEnv, expand, type Container } from './support/kubelet-env.ts';
import type { KubeObject } from './support/helm.ts';

const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config' }, data: { PGHOST: 'db', PGPORT: '5432', 'not valid!': 'x' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rendered' }, data: { password: Buffer.from('s3cret').toString('base64') } },
];
const cluster = clusterState(objects, { name: 'pod-1', namespace: 'ns' }, { external: { token: 'abc' } });
const container = (fields: Partial<Container>): Container => ({ name: 'app', image: 'user-service', ...fields });

describe('the environment the kubelet gives a container', () => {
  it('envFrom first, then env in order, later entries winning; invalid names from envFrom are skipped', () => {
    const env = containerEnv(
      container({
        envFrom: [{ configMapRef: { name: 'config' } }],
        env: [
          { name: 'PGPORT', value: '6543' },
          { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'rendered', key: 'password' } } },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'external', key: 'token' } } },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
      }),
      cluster,
    );
    expect(env).toEqual({ PGHOST: 'db', PGPORT: '6543', PGPASSWORD: 's3cret', TOKEN: 'abc', POD: 'pod-1' });
  });

  it('expands $(VAR) from variables defined before it, keeps unknown references, and reads $$ as $', () => {
    expect(expand('postgres://$(PGHOST):$(PGPORT)/$(LATER)', { PGHOST: 'db', PGPORT: '5432' })).toBe('postgres://db:5432/$(LATER)');
    expect(expand('$$(PGHOST)', { PGHOST: 'db' })).toBe('$(PGHOST)');
  });

  it('a missing Secret or key stops the container unless the reference is optional', () => {
    const ref = (name: string, key: string, optional?: boolean) =>
      container({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name, key, ...(optional ? { optional } : {}) } } }] });
    expect(() => containerEnv(ref('absent', 'password'), cluster)).toThrow(/secret "absent" not found/);
    expect(() => containerEnv(ref('rendered', 'nope'), cluster)).toThrow(/couldn't find key nope/);
    expect(containerEnv(ref('absent', 'password', true), cluster)).toEqual({});
    expect(() => containerEnv(container({ envFrom: [{ configMapRef: { name: 'absent' } }] }), cluster)).toThrow(/configmap "absent" not found/);
  });
});
