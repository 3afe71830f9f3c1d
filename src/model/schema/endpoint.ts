/** One endpoint of a region: an address (IPv4, IPv6, or a hostname answered as a CNAME) and its weight. */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Closed, NonEmptyString } from './common.js';

export const EndpointSchema = Closed({
  // The syntax of the address is a rule (readEndpoint in ../regions.ts): JSON Schema cannot tell an address.
  address: NonEmptyString({ maxLength: 255, description: 'an IPv4 or IPv6 address, or a fully qualified hostname' }),
  weight: Type.Optional(Type.Number({ minimum: 0, maximum: 65535, description: 'share within the region (default 1; 0 = standby)' })),
});
export type EndpointInput = Static<typeof EndpointSchema>;
