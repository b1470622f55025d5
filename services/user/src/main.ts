import { parseEnvOrExit } from '../../shared/src/config/index.ts';
import { exitOnStartFailure, stopOnSignals } from '../../shared/src/lifecycle/index.ts';
import { userEnv } from './config.ts';
import { startUserService } from './service.ts';

const service = await startUserService(parseEnvOrExit(userEnv)).catch(exitOnStartFailure);
stopOnSignals(service, service.logger);
