// A tally of named checks: each prints one line as it finishes, and the run ends with the counts.

export type CheckBody = () => Promise<string | void>;

export interface Report {
  /** Runs one check; a throw is a failure. Returns whether it passed, for checks that depend on it. */
  check: (name: string, body: CheckBody) => Promise<boolean>;
  /** Records a failure that happened outside any check (a setup step, say). */
  fail: (name: string, error: unknown) => void;
  passed: () => number;
  failed: () => number;
}

export function createReport(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Report {
  let passed = 0;
  let failed = 0;

  const fail = (name: string, error: unknown) => {
    failed += 1;
    const message = error instanceof Error ? error.message : String(error);
    write(`FAIL ${name}\n${message.replace(/^/gm, '     ')}`);
  };

  const check = async (name: string, body: CheckBody) => {
    try {
      const detail = await body();
      passed += 1;
      write(`ok   ${name}${detail ? ` (${detail})` : ''}`);
      return true;
    } catch (error) {
      fail(name, error);
      return false;
    }
  };

  return { check, fail, passed: () => passed, failed: () => failed };
}
