/** A region's active health check. Defaults are in ../defaults.ts, the rules JSON Schema cannot say in ../checks.ts. */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { CHECK_TYPES } from '../types.js';
import { Closed, Duration, NonEmptyString, OneOrMany, U16, X_ERROR } from './common.js';

export const CheckSchema = Closed({
  type: Type.Enum(CHECK_TYPES, { [X_ERROR]: `unknown check type "{value}" (one of: ${CHECK_TYPES.join(', ')})` }),
  port: Type.Optional(U16()),
  path: Type.Optional(Type.String({ pattern: '^/', maxLength: 1024, [X_ERROR]: { pattern: 'must start with "/"' } })),
  host: Type.Optional(NonEmptyString({ maxLength: 255, description: 'the Host header (and TLS server name) to send' })),
  expect: Type.Optional(
    Closed({
      status: Type.Optional(OneOrMany(Type.Integer({ minimum: 100, maximum: 599 }), { maxItems: 50 })),
      body: Type.Optional(NonEmptyString({ maxLength: 1024, description: 'text the response body must contain' })),
    }),
  ),
  interval: Type.Optional(Duration()),
  timeout: Type.Optional(Duration()),
  rise: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'successes in a row that bring an endpoint up' })),
  fall: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'failures in a row that take an endpoint down' })),
});
export type CheckInput = Static<typeof CheckSchema>;
