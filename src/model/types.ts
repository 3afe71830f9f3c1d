/** The validated configuration that zone files describe. Produced by loader.ts, consumed by snapshot/build.ts. */
import type { ResourceRecord } from '../wire/records.js';

export const POLICIES = ['latency', 'geo', 'weighted', 'failover'] as const;
export type Policy = (typeof POLICIES)[number];

export const WHEN_ALL_DOWN = ['all', 'none'] as const;
export type WhenAllDown = (typeof WHEN_ALL_DOWN)[number];

/** `fallback`: fenced-in clients whose regions are all down go to regions without `serves`; `strict`: NODATA. */
export const GEOFENCE = ['fallback', 'strict'] as const;
export type Geofence = (typeof GEOFENCE)[number];

/** What an endpoint gets before its first `rise` successes: answered (`serve`), or only when nothing else is up (`wait`). */
export const COLD_START = ['serve', 'wait'] as const;
export type ColdStart = (typeof COLD_START)[number];

export const CHECK_TYPES = ['http', 'https', 'tcp'] as const;
export type CheckType = (typeof CHECK_TYPES)[number];

export const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const;

export interface Location {
  lat: number;
  lon: number;
}

export interface Endpoint {
  /** IPv4 or IPv6 address, or a canonical hostname (answered as a CNAME). */
  address: string;
  /** 4, 6, or 0 for a hostname. */
  family: 4 | 6 | 0;
  weight: number;
}

export interface HealthCheck {
  type: CheckType;
  port: number;
  path: string;
  host?: string;
  expectStatus: number[];
  expectBody?: string;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

export interface MinHealthy {
  ipv4: number;
  ipv6: number;
}

export interface Region {
  name: string;
  /** Where it was declared: `file:line`, or `api` for regions registered through the API. */
  source: string;
  location: Location;
  endpoints: Endpoint[];
  check?: HealthCheck;
  weight: number;
  /** Route 53 geoproximity-style bias in ms subtracted from estimated RTTs (positive attracts traffic). */
  bias: number;
  /**
   * Up endpoints the region needs, per family, to be a candidate for A (ipv4) and AAAA (ipv6) queries. A zone
   * file's single number is already capped here at the endpoints of each family (see readMinHealthy in regions.ts).
   */
  minHealthy: MinHealthy;
  /** Extra services this region serves (API registrations name them; zone regions are listed by services). */
  services: string[];
  /** Geofence: the places (`DE`, `continent:EU`, canonical spelling) whose clients it alone may answer; absent: anyone. */
  serves?: string[];
  /** Cold start of its endpoints; beats the service's. */
  unverified?: ColdStart;
  /** The URL `beacon.js` fetches to measure browsers' RTT to this region. */
  beacon?: string;
}

export interface Service {
  /** Canonical fully-qualified name. */
  name: string;
  zone: string;
  policy: Policy;
  regions: string[];
  ttl: number;
  answers: number;
  whenAllDown: WhenAllDown;
  toleranceMs: number;
  /** Absent: `fallback`. */
  geofence?: Geofence;
  /** Cold start of its regions' endpoints when the region does not say; absent: `serve`. */
  unverified?: ColdStart;
  /** Load shedding (routing/shed.ts): utilization at which shedding starts, and at which every client is shed. */
  shed?: { from: number; to: number };
  /** Passive health: a region reporting a higher errorRatio (POST /v1/load) fails for this service. */
  maxErrorRatio?: number;
}

export type LatencyClient =
  | { kind: 'cidr'; text: string; family: 4 | 6; prefix: number; network: Buffer }
  | { kind: 'country'; text: string; country: string }
  | { kind: 'continent'; text: string; continent: string };

export interface LatencyEntry {
  client: LatencyClient;
  region: string;
  rttMs: number;
}

export interface Soa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface Zone {
  apex: string;
  file: string;
  ttl: number;
  soa: Soa;
  ns: string[];
  /** Static records, absolute canonical owner names, apex SOA and NS included. */
  records: ResourceRecord[];
  services: Service[];
  /** Present when the zone is signed online (zone-dnssec.ts). */
  dnssec?: ZoneDnssec;
}

/** The algorithms the signer supports (dnssec/algorithms.ts has the same names; model may not import it). */
export const DNSSEC_ALGORITHMS = ['ECDSAP256SHA256', 'ED25519'] as const;
export type DnssecAlgorithmName = (typeof DNSSEC_ALGORITHMS)[number];

/** A zone file's `dnssec:` key (zone-dnssec.ts reads it). */
export interface ZoneDnssec {
  algorithm: DnssecAlgorithmName;
  /** How long each signature is valid from when it is made. */
  validitySeconds: number;
}

export interface ZoneSet {
  zones: Zone[];
  regions: Map<string, Region>;
  latency: LatencyEntry[];
}

export interface ConfigError {
  file: string;
  line: number;
  message: string;
  /** The dotted path of the offending value (e.g. `endpoints[1].address`) and the message without it. */
  field?: string;
  detail?: string;
}

export function formatError(e: ConfigError): string {
  return `${e.file}:${e.line}: ${e.message}`;
}
