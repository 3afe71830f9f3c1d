/** Real-user latency beacons (`POST /v1/beacons`): samples accepted, and refused by why. */
import { Counter, type Registry } from 'prom-client';

export const BEACON_SAMPLE_RESULTS = ['accepted', 'range', 'outlier', 'region', 'rate'] as const;
export type BeaconSampleResult = (typeof BEACON_SAMPLE_RESULTS)[number];

export function registerBeaconMetrics(registers: Registry[], counts: Readonly<Record<BeaconSampleResult, number>>): void {
  new Counter({
    name: 'gslb_beacon_samples_total',
    help: 'Beacon RTT samples by result: accepted, or rejected as range (not in (0, 10 s]), outlier (far from the network median), region (unknown), rate (the network sent too many reports).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      for (const result of BEACON_SAMPLE_RESULTS) this.inc({ result }, counts[result]);
    },
  });
}
