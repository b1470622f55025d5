import { parseEnvOrExit } from '../../shared/src/config.ts';
import { exitOnStartFailure } from '../../shared/src/server.ts';
import { stopOnSignals } from '../../shared/src/shutdown.ts';
import { dataEnv } from './config.ts';
import { startDataService } from './service.ts';

const service = await startDataService(parseEnvOrExit(dataEnv)).catch(exitOnStartFailure);
stopOnSignals(service, service.logger);
