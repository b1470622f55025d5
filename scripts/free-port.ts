// The one way tests, scripts and the benchmark get a TCP port nothing listens on. Test files that
// run side by side keep to ranges of their own (dev loop 18300-18399, chart contract its
// PORT_RANGE); others take any port.
import net from 'node:net';

/** The first free port in [from, to] not in `taken` (and adds it there); with no range, any free port. */
export async function freePort(from = 0, to = from, taken: Set<number> = new Set()): Promise<number> {
  for (let port = from; port <= to; port++) {
    if (taken.has(port)) continue;
    const free = await listenOnce(port);
    if (free !== undefined) {
      taken.add(free);
      return free;
    }
  }
  throw new Error(`no free port in ${from}-${to}`);
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(undefined));
    probe.listen(port, '127.0.0.1', () => {
      const { port: bound } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(bound));
    });
  });
}
