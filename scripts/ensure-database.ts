// `node scripts/ensure-database.ts <name>`: creates the PostgreSQL database unless it exists, so
// `make run` keeps its tables out of the server's default `postgres` database.
import { createDatabaseIfMissing } from './scratch-backends.ts';

const name = process.argv[2];
if (!name) {
  process.stderr.write('usage: node scripts/ensure-database.ts <database>\n');
  process.exit(2);
}
try {
  if (await createDatabaseIfMissing(name)) process.stdout.write(`created database ${name}\n`);
} catch (error) {
  process.stderr.write(`could not create database ${name}: ${(error as Error).message}\n`);
  process.exit(1);
}
