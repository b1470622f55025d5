// What a running service tells about itself: structured logs, Prometheus metrics, the access log
// and request metrics, and OpenTelemetry tracing (the SDK, tracing-sdk.ts, loads only when tracing is
// on, so it is not exported here).
export * from './logger.ts';
export * from './metrics.ts';
export * from './access-log.ts';
export * from './tracing-interface.ts';
export * from './tracing.ts';
