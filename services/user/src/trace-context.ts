import type { Context } from 'hono';
import { TRACEPARENT_PATTERN } from '../../shared/src/events/index.ts';
import type { Tracing } from '../../shared/src/observability/index.ts';

/** The W3C trace context a write's event carries, so a consumer's work continues the request's trace. */
export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
}

const TRACESTATE_MAX = 512;

/**
 * With tracing on, the context of the request's own span (its child in the trace); without it,
 * the caller's `traceparent` passed on as sent, when it is well formed.
 */
export function requestTraceContext(c: Context, tracing: Tracing | undefined): TraceContext {
  const carrier = tracing ? tracing.traceContext() : { traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') };
  const traceparent = carrier.traceparent?.trim().toLowerCase();
  if (!traceparent || !TRACEPARENT_PATTERN.test(traceparent)) return {};
  const tracestate = carrier.tracestate?.trim();
  return tracestate && tracestate.length <= TRACESTATE_MAX ? { traceparent, tracestate } : { traceparent };
}
