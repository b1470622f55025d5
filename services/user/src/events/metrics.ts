import { Counter, Gauge } from 'prom-client';
import type { Metrics } from '../../../shared/src/observability/index.ts';

/** The outbox relay's metrics; every replica reports them, the leader and those standing by. */
export function relayMetrics(metrics: Metrics) {
  let oldest: { ageSeconds: number; seenAt: number } | undefined;
  const lag = new Gauge({
    name: 'user_events_outbox_lag_seconds',
    help: 'Age of the oldest event not yet published to the stream (0 when none waits); keeps growing while the relay cannot publish',
    registers: [metrics.registry],
    collect() {
      // The age PostgreSQL measured, plus the time since: no comparison of this host's clock with the database's.
      this.set(oldest ? oldest.ageSeconds + (Date.now() - oldest.seenAt) / 1000 : 0);
    },
  });
  const published = new Counter({
    name: 'user_events_published_total',
    help: 'Events this replica published to the stream',
    registers: [metrics.registry],
  });
  const failures = new Counter({
    name: 'user_events_publish_failures_total',
    help: 'Batches that could not be written to Redis; they stay in the outbox and are retried',
    registers: [metrics.registry],
  });
  const leader = new Gauge({
    name: 'user_events_relay_leader',
    help: '1 while this replica holds the relay lock and publishes, else 0',
    registers: [metrics.registry],
  });
  leader.set(0);
  return {
    lag,
    published,
    failures,
    leader,
    /** What the last look at the outbox found: the age of its oldest unpublished event, or none. */
    observeOldest(ageSeconds: number | undefined) {
      oldest = ageSeconds === undefined ? undefined : { ageSeconds, seenAt: Date.now() };
    },
  };
}

export type RelayMetrics = ReturnType<typeof relayMetrics>;
