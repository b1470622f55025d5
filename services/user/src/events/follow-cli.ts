// `npm run events [-- --follow] [--count 10] [--from <stream id>]`: prints the latest events of
// EVENTS_STREAM as JSON lines, oldest first; with --follow, goes on printing new ones until Ctrl-C.
// Reads without a consumer group, so watching takes nothing from real consumers. In the image:
//   kubectl exec deploy/<release>-user-service -- npm run -s events -- --follow
import { Redis } from 'ioredis';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { commonEnv, env, parseEnvOrExit } from '../../../shared/src/config/index.ts';
import { createRedis } from '../../../shared/src/storage/index.ts';

const USAGE = 'usage: npm run events -- [--follow] [--count 10] [--from <stream id>, 0 for all the stream holds]';

function fail(message: string): never {
  process.stderr.write(`events: ${message}\n${USAGE}\n`);
  process.exit(1);
}

let values: { follow?: boolean; count?: string; from?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      follow: { type: 'boolean', short: 'f' },
      count: { type: 'string', default: '10' },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const count = env.positiveInt.max(10_000).safeParse(values.count);
if (!count.success) fail(`--count: expected a number from 1 to 10000, got "${values.count}"`);
if (values.from !== undefined && !/^(0|\d+(-\d+)?)$/.test(values.from)) fail(`--from: expected a stream id such as 1733338619000-0, or 0; got "${values.from}"`);

const config = parseEnvOrExit(commonEnv.extend({ EVENTS_STREAM: z.string().min(1).default('user-events') }));
// A blocking read outlasts the cache's command timeout, so this client waits as long as it reads.
const redis: Redis = createRedis({ ...config, REDIS_COMMAND_TIMEOUT_MS: 10_000 }, 'user-service-events-cli');
const stream = config.EVENTS_STREAM;

type Entry = [id: string, fields: string[]];

/** The event's JSON as published (its `event` field), one line each. */
function print(entries: Entry[]): void {
  for (const [, fields] of entries) {
    const index = fields.findIndex((field, i) => i % 2 === 0 && field === 'event');
    if (index >= 0) process.stdout.write(`${fields[index + 1]}\n`);
  }
}

let stopped = false;
process.once('SIGINT', () => (stopped = true));
process.once('SIGTERM', () => (stopped = true));

try {
  // The client sends nothing before it is connected (no offline queue).
  await new Promise((resolve, reject) => {
    redis.once('ready', resolve);
    setTimeout(() => reject(new Error('no connection within 5 s')), 5_000).unref();
  });
  let last: string;
  if (values.from === undefined) {
    const latest = (await redis.xrevrange(stream, '+', '-', 'COUNT', count.data)) as Entry[];
    latest.reverse();
    print(latest);
    // An empty stream is followed from its start, so nothing published meanwhile is missed.
    last = latest.at(-1)?.[0] ?? '0';
  } else {
    last = values.from;
    // Without --follow, --from prints up to --count entries after that id.
    if (!values.follow) print((await redis.xread('COUNT', count.data, 'STREAMS', stream, last))?.[0]?.[1] ?? []);
  }
  while (values.follow && !stopped) {
    const reply = await redis.xread('COUNT', 500, 'BLOCK', 2_000, 'STREAMS', stream, last);
    const entries = (reply?.[0]?.[1] ?? []) as Entry[];
    print(entries);
    last = entries.at(-1)?.[0] ?? last;
  }
} catch (error) {
  process.stderr.write(`events: cannot read ${stream}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
