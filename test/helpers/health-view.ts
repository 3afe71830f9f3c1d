/**
 * HealthViews with chosen verdicts, for steering tests that need a region down, drained or unstable without
 * driving probe states there: the same concrete type the server computes, built from verdicts directly.
 */
import { ALL_UP, HealthView, type RegionHealth, type RegionVerdict } from '../../src/health/view.js';

/**
 * Every region in `regions` as `region(name)` says (else up, stable, not drained, reason `test: up`, no
 * per-family data, so it holds for both families); the endpoints in `endpointsDown` down, every other one up.
 */
export function healthWith(
  regions: Iterable<string>,
  region: (name: string) => Partial<RegionHealth>,
  endpointsDown: readonly (readonly [region: string, address: string])[] = [],
): HealthView {
  const verdicts = new Map<string, RegionVerdict>();
  for (const name of regions) {
    const down = endpointsDown.filter(([r]) => r === name).map(([, address]) => [address, { up: false, unverified: false, waiting: false, since: undefined }] as const);
    verdicts.set(name, { ...ALL_UP.region(name), reason: 'test: up', ...region(name), endpoints: new Map(down), upCount: 0 });
  }
  return new HealthView(verdicts);
}
