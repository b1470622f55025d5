import { describe, expect, it } from 'vitest';
import { createStalenessChecker, sequenceOf, writtenInfo } from '../../bench/realistic/staleness.ts';

describe('stale-read checker', () => {
  it('reads the sequence a write put into info, 0 for a seeded value', () => {
    expect(sequenceOf(writtenInfo(42, 'padding text'))).toBe(42);
    expect(sequenceOf(writtenInfo(7, ''))).toBe(7);
    expect(sequenceOf('registered by the benchmark seed')).toBe(0);
  });

  it('flags a read sent after the acknowledgement that returns an older value', () => {
    const checker = createStalenessChecker();
    checker.acknowledge('u1', 5, 100);
    expect(checker.check('u1', 100.5, writtenInfo(3, 'x'), 'HIT')).toBe(false);
    expect(checker.check('u1', 101, 'seeded')).toBe(false);
    expect(checker.stale).toEqual([
      { name: 'u1', returned: 3, expected: 5, sentAfterAckMs: 0.5, cache: 'HIT' },
      { name: 'u1', returned: 0, expected: 5, sentAfterAckMs: 1, cache: undefined },
    ]);
    expect(checker.checked).toBe(2);
  });

  it('accepts the acknowledged value, a newer one, and anything sent before the acknowledgement', () => {
    const checker = createStalenessChecker();
    checker.acknowledge('u1', 5, 100);
    expect(checker.check('u1', 99, 'seeded')).toBe(true);
    expect(checker.check('u1', 100, 'seeded')).toBe(true);
    expect(checker.check('u1', 150, writtenInfo(5, 'x'))).toBe(true);
    expect(checker.check('u1', 150, writtenInfo(9, 'x'))).toBe(true);
    expect(checker.check('u2', 150, 'seeded')).toBe(true);
    expect(checker.stale).toEqual([]);
    expect(checker.checked).toBe(2);
  });

  it('refuses acknowledgements of one name out of order (writes to a name must be serial)', () => {
    const checker = createStalenessChecker();
    checker.acknowledge('u1', 5, 100);
    expect(() => checker.acknowledge('u1', 4, 110)).toThrow(/acknowledged after 5/);
  });
});
