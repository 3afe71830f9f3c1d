/**
 * Regions (`regions:` in zone files, `PUT /v1/regions/:name` bodies, registrations read back from a store):
 * their schema is schema/region.ts; here, the rules it cannot say, written once for all three.
 */
import { canonicalIpv6, ipFamily } from '../wire/ip.js';
import { canonical, nameProblem } from '../wire/name.js';
import { readCheck } from './checks.js';
import { DEFAULTS } from './defaults.js';
import { familyEndpoints } from './families.js';
import { Input, issueErrors } from './input.js';
import { EndpointSchema } from './schema/endpoint.js';
import { parsePlace } from './places.js';
import { LocationSchema, RegionSchema } from './schema/region.js';
import type { ConfigError, Endpoint, MinHealthy, Region } from './types.js';

const REGION_NAME_RE = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;

export function regionNameProblem(name: string): string | undefined {
  return REGION_NAME_RE.test(name) ? undefined : 'region names are 1-63 lowercase letters, digits, "-" or "_"';
}

/**
 * Validate a region given as a plain value (the API's PUT body without `services`, or a stored registration)
 * with the schema and rules of zone files. Errors carry `field` (e.g. `endpoints[1].address`).
 */
export function readRegionJson(name: string, body: unknown, source = 'api'): { region?: Region; errors: ConfigError[] } {
  const input = Input.checked(RegionSchema, body);
  const region = readRegion(name, input, source);
  const errors = issueErrors(input.report, source);
  return region && errors.length === 0 ? { region, errors } : { errors };
}

/** A region named `name` from `input`; `source` is where it was declared (`file:line`, or `api`). */
export function readRegion(name: string, input: Input, source: string): Region | undefined {
  const nameProblemText = regionNameProblem(name);
  if (nameProblemText) return input.issue(nameProblemText, { at: 'key' });
  const location = input.at('location').as(LocationSchema);
  const endpoints = readEndpoints(input.at('endpoints'));
  const check = input.has('check') ? readCheck(input.at('check')) : undefined;
  const minHealthy = readMinHealthy(input.at('min-healthy'), endpoints);
  const serves = readServes(input.at('serves'));
  const unverified = input.at('unverified').as(RegionSchema.properties.unverified);
  const beacon = readBeaconUrl(input.at('beacon'));
  if (!location || !input.clean) return undefined;
  return {
    name,
    source,
    location: { lat: location.lat, lon: location.lon },
    endpoints,
    ...(check ? { check } : {}),
    weight: input.at('weight').number() ?? DEFAULTS.region.weight,
    bias: input.at('bias').number() ?? DEFAULTS.region.bias,
    minHealthy,
    services: [],
    ...(serves ? { serves } : {}),
    ...(unverified ? { unverified } : {}),
    ...(beacon ? { beacon } : {}),
  };
}

/** The places of `serves`, in their canonical spelling (`CH`, `continent:EU`), each once. */
function readServes(list: Input): string[] | undefined {
  if (!list.present || !list.wellFormed) return undefined;
  const out: string[] = [];
  for (const item of list.items()) {
    const text = item.string() ?? '';
    const place = parsePlace(text);
    if (place === undefined) item.issue(`"${text}" is not an ISO country code (CH) or continent:XX`);
    else if (typeof place === 'string') item.issue(place);
    else if (out.includes(place.text)) item.issue(`${place.text} is listed twice`);
    else out.push(place.text);
  }
  return out;
}

/** The schema checks the shape; a browser must also be able to parse it, credentials in it would leak to every page. */
function readBeaconUrl(input: Input): string | undefined {
  const text = input.string();
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return input.issue(`"${text}" is not a URL`);
  }
  if (url.username || url.password) return input.issue('must not carry a user name or password: every page that embeds beacon.js would see it');
  return url.href;
}

function readEndpoints(list: Input): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const seen = new Set<string>();
  for (const item of Array.isArray(list.value) ? list.items() : []) {
    const ep = readEndpoint(item);
    if (!ep) continue;
    // One spelling per address (RFC 5952 for IPv6), so 2001:DB8::1 and 2001:db8:0::1 collide.
    if (seen.has(ep.address)) item.issue(`endpoint ${ep.address} is listed twice`);
    seen.add(ep.address);
    endpoints.push(ep);
  }
  return endpoints;
}

/** An IP address (IPv6 in RFC 5952 form, so probe reports and checks name endpoints alike) or a hostname. */
function readEndpoint(item: Input): Endpoint | undefined {
  const e = item.as(EndpointSchema);
  if (!e) return undefined;
  const text = e.address;
  const weight = e.weight ?? DEFAULTS.endpoint.weight;
  const at = item.at('address');
  const family = ipFamily(text);
  if (family === 6) {
    if (text.includes('%')) return at.issue(`"${text}" has a zone index; use a global address`);
    return { address: canonicalIpv6(text), family, weight };
  }
  if (family === 4) return { address: text, family, weight };
  const host = canonical(text);
  const problem = /^[\d.]+$/.test(text) || host === '' || !host.includes('.') ? 'is not an IP address or a fully qualified hostname' : nameProblem(host);
  if (problem) return at.issue(`"${text}" ${problem}`);
  return { address: host, family: 0, weight };
}

/** How many endpoints answer each family (the rule is in families.ts). */
function answeringCounts(endpoints: readonly Endpoint[]): MinHealthy {
  const lists = { v4: endpoints.filter((e) => e.family === 4), v6: endpoints.filter((e) => e.family === 6), hosts: endpoints.filter((e) => e.family === 0) };
  return { ipv4: familyEndpoints(lists, 'ipv4').length, ipv6: familyEndpoints(lists, 'ipv6').length };
}

/**
 * `min-healthy: n` needs n up endpoints of each family, but never more than the region has of that family
 * (min-healthy 2 beside a single IPv6 endpoint needs that one up), so a number never silently removes a
 * family; `min-healthy: { ipv4: n, ipv6: m }` is exact, and a minimum the region can never meet is an error.
 */
function readMinHealthy(input: Input, endpoints: readonly Endpoint[]): MinHealthy {
  const have = answeringCounts(endpoints);
  const capped = (n: number): MinHealthy => ({ ipv4: have.ipv4 > 0 ? Math.min(n, have.ipv4) : n, ipv6: have.ipv6 > 0 ? Math.min(n, have.ipv6) : n });
  const single = input.number();
  const out = capped(single ?? DEFAULTS.region.minHealthy);
  if (single !== undefined || !input.wellFormed) return out;
  for (const key of ['ipv4', 'ipv6'] as const) {
    const at = input.at(key);
    const n = at.number();
    if (n === undefined) continue;
    const family = key === 'ipv4' ? 'IPv4' : 'IPv6';
    if (have[key] > 0 && n > have[key])
      at.issue(`is ${n} but the region has only ${have[key]} ${family} endpoint${have[key] === 1 ? '' : 's'} with weight > 0, so it could never answer ${key === 'ipv4' ? 'A' : 'AAAA'}`);
    out[key] = n;
  }
  return out;
}
