/** Builds the node's QueryGuard from the serve options, and says at start what protection is on. */
import type { Logger } from 'pino';
import type { ServeOptions } from './config.js';
import { randomCookieSecret, ServerCookies } from './protect/cookies.js';
import { QueryGuard } from './protect/guard.js';
import { bytesToIpv4, bytesToIpv6 } from './wire/ip.js';
import { RateLimiter } from './protect/rrl.js';

export function createQueryGuard(opts: Pick<ServeOptions, 'rrl' | 'rrlSlip' | 'rrlExempt' | 'cookieSecrets'>, log: Logger): QueryGuard {
  const configured = opts.cookieSecrets.length > 0;
  // Without a configured secret, cookies from this node are not accepted by its peers (nor after a restart).
  const cookies = new ServerCookies(configured ? opts.cookieSecrets : [randomCookieSecret()]);
  const rrl = opts.rrl > 0 ? new RateLimiter({ rate: opts.rrl, slip: opts.rrlSlip }) : undefined;
  const exempt = opts.rrlExempt.map((n) => `${n.family === 4 ? bytesToIpv4(n.network, 0) : bytesToIpv6(n.network, 0)}/${n.prefix}`);
  log.info(
    {
      rrl: opts.rrl,
      rrlSlip: opts.rrlSlip,
      rrlExempt: exempt,
      rrlTableBytes: rrl?.tableBytes ?? 0,
      cookieSecret: configured ? `configured${opts.cookieSecrets.length > 1 ? ' (+ previous)' : ''}` : 'random per start',
    },
    'dns protection',
  );
  return new QueryGuard({ cookies, rrl, exempt: opts.rrlExempt });
}
