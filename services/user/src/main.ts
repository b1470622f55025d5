import { parseEnvOrExit } from '../../shared/src/config.ts';
import { exitOnStartFailure } from '../../shared/src/server.ts';
import { stopOnSignals } from '../../shared/src/shutdown.ts';
import { userEnv } from './config.ts';
import { startUserService } from './service.ts';

const service = await startUserService(parseEnvOrExit(userEnv)).catch(exitOnStartFailure);
stopOnSignals(service, service.logger);
