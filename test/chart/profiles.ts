// The value sets the chart is rendered with in these tests.
import { valuesFile, type RenderOptions } from './support/helm.ts';

export const profiles = {
  default: {},
  external: {
    set: {
      'postgresql.enabled': false,
      'redis.enabled': false,
      'externalDatabase.host': 'db.internal.example',
      'externalDatabase.port': 6432,
      'externalDatabase.database': 'users_prod',
      'externalDatabase.user': 'users_app',
      'externalDatabase.existingSecret': 'users-db-credentials',
      'externalDatabase.existingSecretPasswordKey': 'db-password',
      'externalRedis.host': 'cache.internal.example',
      'externalRedis.port': 6380,
      'externalRedis.db': 2,
      'externalRedis.existingSecret': 'users-cache-credentials',
      'externalRedis.existingSecretPasswordKey': 'cache-password',
    },
  },
  production: { valuesFiles: [valuesFile('values-prod.yaml')] },
  everythingOn: {
    set: {
      'serviceMonitor.enabled': true,
      'prometheusRule.enabled': true,
      'grafanaDashboard.enabled': true,
      'ingress.enabled': true,
      'ingress.hosts.userService': 'users-write.example.com',
      'ingress.hosts.dataService': 'users-read.example.com',
      'networkPolicy.enabled': true,
      'userService.autoscaling.enabled': true,
      'dataService.podDisruptionBudget.enabled': true,
      'userService.seedDemoUsers': true,
    },
  },
  releaseNamedPostgresql: { release: 'team-postgresql-users' },
} satisfies Record<string, RenderOptions>;
