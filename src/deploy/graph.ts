/**
 * A dependency graph of steps, run with as much parallelism as the edges allow: a step starts as soon as
 * every step it needs is done. Pure scheduling; what a step does is its own business.
 */
export interface GraphStep<R> {
  id: string;
  needs: readonly string[];
  run(): Promise<R>;
}

export interface StepOutcome<R> {
  id: string;
  result: R;
  elapsedMs: number;
}

export interface GraphHooks<R> {
  started?(id: string): void;
  done?(id: string, result: R, elapsedMs: number): void;
  failed?(id: string, error: unknown): void;
}

/** Pure: rejects unknown dependencies and cycles, returning the steps in one valid order. */
export function topologicalOrder(steps: readonly { id: string; needs: readonly string[] }[]): string[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  if (byId.size !== steps.length) throw new Error('duplicate step id');
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    const step = byId.get(id);
    if (!step) throw new Error(`step ${path.at(-1)} needs unknown step ${id}`);
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`dependency cycle: ${[...path, id].join(' → ')}`);
    state.set(id, 'visiting');
    for (const need of step.needs) visit(need, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const s of steps) visit(s.id, []);
  return order;
}

/** Pure: the longest chain of `weight`s through the graph (the floor of a perfectly parallel run's time). */
export function criticalPath(
  steps: readonly { id: string; needs: readonly string[] }[],
  weight: (id: string) => number,
): { total: number; path: string[] } {
  const best = new Map<string, { total: number; path: string[] }>();
  const byId = new Map(steps.map((s) => [s.id, s]));
  for (const id of topologicalOrder(steps)) {
    const step = byId.get(id)!;
    let prev = { total: 0, path: [] as string[] };
    for (const need of step.needs) {
      const b = best.get(need)!;
      if (b.total > prev.total) prev = b;
    }
    best.set(id, { total: prev.total + weight(id), path: [...prev.path, id] });
  }
  let top = { total: 0, path: [] as string[] };
  for (const b of best.values()) if (b.total > top.total) top = b;
  return top;
}

/**
 * Runs the graph. On a failure no new step starts; steps already running finish (a half-made resource is
 * found again by tag next time), then the first error is thrown.
 */
export async function runGraph<R>(
  steps: readonly GraphStep<R>[],
  hooks: GraphHooks<R> = {},
): Promise<StepOutcome<R>[]> {
  topologicalOrder(steps);
  const outcomes: StepOutcome<R>[] = [];
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: { error: unknown } | undefined;
  const pending = [...steps];
  const launch = () => {
    if (failure) return;
    for (let i = 0; i < pending.length; ) {
      const step = pending[i]!;
      if (!step.needs.every((n) => done.has(n))) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      const began = Date.now();
      hooks.started?.(step.id);
      const promise = step.run().then(
        (result) => {
          const elapsedMs = Date.now() - began;
          outcomes.push({ id: step.id, result, elapsedMs });
          done.add(step.id);
          hooks.done?.(step.id, result, elapsedMs);
        },
        (error) => {
          failure ??= { error };
          hooks.failed?.(step.id, error);
        },
      );
      running.set(
        step.id,
        promise.finally(() => running.delete(step.id)),
      );
    }
  };
  launch();
  while (running.size > 0) {
    await Promise.race(running.values());
    launch();
  }
  if (failure) throw failure.error;
  if (pending.length > 0) throw new Error(`steps never became ready: ${pending.map((s) => s.id).join(', ')}`);
  return outcomes;
}
