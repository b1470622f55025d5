import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout. Redaction is a second line of defence: nothing should log a secret in the
 * first place, but a connection option object or a header bag logged by mistake stays clean.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['password', '*.password', 'pass', '*.pass', 'headers.authorization', 'headers.cookie', 'url', '*.url'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
