// What the process is told when it starts: the environment, parsed once and failing fast on the
// variable that is wrong (config.ts), and which build it is (version.ts).
export * from './config.ts';
export * from './version.ts';
