import { describe, expect, it } from 'vitest';
import { isPending, judgeProbe, parseApplyState } from '../src/router/apply-state';
import { describeSignal, signalOfExitStatus } from '../src/router/ssh';

describe('reading the router-side apply state', () => {
  it('parses the words the apply job writes, bare or as CONFIRM_SCRIPT prints them', () => {
    expect(parseApplyState('started\n')).toBe('started');
    expect(parseApplyState('state:restarted\n')).toBe('restarted');
    expect(parseApplyState('state:confirmed')).toBe('confirmed');
    expect(parseApplyState('rolledback')).toBe('rolledback');
    expect(parseApplyState('state:\n')).toBe('none');
    expect(parseApplyState('')).toBe('none');
    expect(parseApplyState(undefined)).toBe('none');
    expect(parseApplyState('state:restoring')).toBe('other');
    expect(['started', 'restarted'].map((s) => isPending(parseApplyState(s)))).toEqual([true, true]);
    expect(['confirmed', 'rolledback', '', 'x'].some((s) => isPending(parseApplyState(s)))).toBe(false);
  });

  it('judges every state, for an apply known to have started and for one whose answer was lost', () => {
    const states = ['started', 'restarted', 'confirmed', 'rolledback', 'none', 'other'] as const;
    expect(states.map((s) => judgeProbe(s, true))).toEqual([
      'wait',
      'wait',
      'confirmed',
      'rolled back',
      'compare',
      'compare',
    ]);
    // A final state may be an earlier run's when the apply's own answer never came: only the configuration tells.
    expect(states.map((s) => judgeProbe(s, false))).toEqual([
      'wait',
      'wait',
      'compare',
      'compare',
      'compare',
      'compare',
    ]);
  });

  it('names the signal behind a shell status of 128 + N, and what SIGKILL usually means on a router', () => {
    expect(signalOfExitStatus(137)).toBe('SIGKILL');
    expect(signalOfExitStatus(143)).toBe('SIGTERM');
    expect(signalOfExitStatus(1)).toBeUndefined();
    expect(signalOfExitStatus(128)).toBeUndefined();
    expect(signalOfExitStatus(255)).toBeUndefined();
    expect(describeSignal('KILL')).toMatch(
      /^killed by SIGKILL \(on a router usually the out-of-memory killer/,
    );
    expect(describeSignal('SIGTERM')).toBe('killed by SIGTERM');
    expect(describeSignal('SEGV', 'core dumped')).toBe('killed by SIGSEGV (core dumped)');
  });
});
