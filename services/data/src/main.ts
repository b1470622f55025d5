import { parseEnvOrExit } from '../../shared/src/config.ts';
import { stopOnSignals } from '../../shared/src/server.ts';
import { dataEnv } from './config.ts';
import { startDataService } from './service.ts';

const service = await startDataService(parseEnvOrExit(dataEnv));
stopOnSignals(service, service.logger);
