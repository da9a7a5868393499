import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readControlState, statementsOf } from '../dist/src/storage/control.js';
import { openSchema } from '../dist/src/storage/schema.js';

describe('the control state read back', () => {
  it('lists the rules in the order they were created, whatever order they were written in', async () => {
    // A database removed while running is written again from the monitor's rules, and a rule
    // created meanwhile can commit before them: a restart listed [200, 100] for rules made
    // as 100 then 200 (persistence.test, "creates the dataDir again").
    const db = openSchema(join(mkdtempSync(join(tmpdir(), 'pw-control-')), 'perfwatch.db'));
    const rule = (id: string, threshold: number, createdAt: number) => ({ id, name: `r${threshold}`, metric: 'queue_size', operator: '>', threshold, severity: 'warning', duration: 0, createdAt });
    const ops = [rule('b', 200, 2_000), rule('a', 100, 1_000), rule('c', 300, 3_000)].map((r) => ({ op: 'put-rule' as const, rule: r }));
    db.transaction(() => {
      for (const op of ops) for (const s of statementsOf(op as never)) db.prepare(s.sql).run(s.params);
    });
    const state = await readControlState(async (sql, params) => db.prepare(sql).all(params), { history: 10, audit: 10 });
    expect(state.rules.map((r) => r.threshold)).toEqual([100, 200, 300]);
    db.close();
  });
});
