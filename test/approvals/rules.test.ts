import { describe, expect, it } from 'vitest';
import { approvalState, checkDecision } from '../../src/approvals/rules.js';
import type { ApprovalRecord } from '../../src/store/sqlite/approvals.js';

const H = 'c'.repeat(64);
const rec = (
  person: string,
  role: string,
  decision: 'approved' | 'refused' = 'approved',
  planHash = H,
): ApprovalRecord => ({
  id: 1,
  subject: 'window:1',
  person,
  role,
  decision,
  planHash,
  comment: null,
  at: new Date('2026-11-25T12:00:00Z'),
});
const required = ['CTO', 'Head of Operations'];
const base = { requestedBy: 'Alice', required, currentPlanHash: H, planHash: H, open: true, what: 'window #1' };

describe('approval rules', () => {
  it('counts only approvals of the current plan and needs every role', () => {
    expect(approvalState(required, [rec('Carol', 'CTO')], H)).toMatchObject({
      missing: ['Head of Operations'],
      complete: false,
    });
    expect(approvalState(required, [rec('Carol', 'CTO'), rec('Hank', 'Head of Operations')], H).complete).toBe(true);
    expect(
      approvalState(required, [rec('Carol', 'CTO', 'approved', 'd'.repeat(64)), rec('Hank', 'Head of Operations')], H)
        .missing,
    ).toEqual(['CTO']);
    expect(
      approvalState(required, [rec('Carol', 'CTO'), rec('Hank', 'Head of Operations', 'refused')], H),
    ).toMatchObject({ complete: false, refused: { person: 'Hank' } });
  });

  it('one person cannot fill both roles; a closed request takes no decisions', () => {
    const both = { name: 'Zed', roles: ['CTO', 'Head of Operations'] };
    expect(checkDecision({ ...base, person: both, decisions: [] })).toEqual({ ok: true, role: 'CTO' });
    expect(checkDecision({ ...base, person: both, decisions: [rec('Zed', 'CTO')] })).toMatchObject({
      ok: false,
      status: 409,
      reason: expect.stringMatching(/each required role needs a different person/),
    });
    expect(
      checkDecision({ ...base, person: { name: 'Hank', roles: ['Head of Operations'] }, decisions: [], open: false }),
    ).toMatchObject({ ok: false, status: 409 });
    expect(
      checkDecision({ ...base, person: { name: 'Hank', roles: ['Head of Operations'] }, decisions: [], role: 'CTO' }),
    ).toMatchObject({ ok: false, status: 403, reason: 'Hank does not hold the role CTO' });
  });
});
