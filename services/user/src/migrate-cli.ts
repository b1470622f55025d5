// `npm run migrate [-- --seed]`: what the chart's migration step and operators run.
import { commonEnv, parseEnvOrExit } from '../../shared/src/config/index.ts';
import { createSql } from '../../shared/src/storage/index.ts';
import { createLogger } from '../../shared/src/observability/index.ts';
import { migrate, seedDemoUsers } from './migrate.ts';

const config = parseEnvOrExit(commonEnv);
const logger = createLogger('user-service-migrate', config.LOG_LEVEL);
const sql = createSql(config, 'user-service-migrate', { max: 1 });
try {
  const applied = await migrate(sql, logger);
  logger.info({ applied }, applied.length ? 'migrations applied' : 'schema already current');
  if (process.argv.includes('--seed')) logger.info({ added: await seedDemoUsers(sql) }, 'demo users seeded');
} catch (error) {
  logger.error({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 5 });
}
