import { parseEnvOrExit } from '../../shared/src/config/index.ts';
import { exitOnStartFailure, stopOnSignals } from '../../shared/src/lifecycle/index.ts';
import { dataEnv } from './config.ts';
import { startDataService } from './service.ts';

const service = await startDataService(parseEnvOrExit(dataEnv)).catch(exitOnStartFailure);
stopOnSignals(service, service.logger);
