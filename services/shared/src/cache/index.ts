// The cache protocol both services speak in Redis: key names, generations, and the fill and evict
// scripts that keep a write from leaving a stale entry, and the replicas' leases and write log.
export * from './cache-protocol.ts';
