/**
 * The UDP I/O matrix: GSLB_TEST_UDP_IO (batch | dgram | auto) is the `--udp-io` every test server gets unless
 * the test chooses one itself. `npm test` runs the whole suite with batch, then the files that exercise UDP
 * again with dgram (see package.json), so each DNS test runs under both without a copy of it.
 */
const MODES = ['auto', 'batch', 'dgram'];

export const TEST_UDP_IO = process.env.GSLB_TEST_UDP_IO || undefined;
if (TEST_UDP_IO !== undefined && !MODES.includes(TEST_UDP_IO)) throw new Error(`GSLB_TEST_UDP_IO=${TEST_UDP_IO}: use ${MODES.join(', ')}`);

/** `--udp-io MODE` for a server started with `args` (and `env`), unless the test set it itself. */
export function udpIoArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): string[] {
  if (TEST_UDP_IO === undefined) return [];
  if (args.some((a) => a === '--udp-io' || a.startsWith('--udp-io=')) || env.GSLB_UDP_IO) return [];
  return ['--udp-io', TEST_UDP_IO];
}
