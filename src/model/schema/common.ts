/**
 * Building blocks of the schemas in this folder, and the two annotations they may carry besides standard JSON
 * Schema. The schemas are plain JSON Schema (TypeBox builds them): Fastify validates API bodies with them and
 * puts them in /openapi.json, and the zone loader checks zone files with them (see validate.ts).
 *
 * Annotations, for the messages a zone file's author reads (`file:line: path: message`):
 * - `x-error`: the message for this value, instead of one derived from its schema; a string, or an object
 *   whose keys are JSON Schema keywords (`minItems`...) for a message only when that keyword fails. `{value}`
 *   stands for the offending value.
 * - `x-unknown-key` on an object: the message for a key it does not list; `{key}` stands for the key.
 * A required property's `description` is repeated in its "missing required key" message.
 */
import { Type, type TProperties, type TSchema } from 'typebox';

export const X_ERROR = 'x-error';
export const X_UNKNOWN_KEY = 'x-unknown-key';
/** Declared to Ajv (which rejects keywords it does not know) by the API; OpenAPI allows `x-` extensions. */
export const SCHEMA_ANNOTATIONS = [X_ERROR, X_UNKNOWN_KEY] as const;

/** The largest TTL (RFC 2181 §8: 2^31 - 1). */
export const MAX_TTL = 2_147_483_647;

/** An object that accepts only the keys it lists (every object of every schema is closed). */
export function Closed<P extends TProperties>(properties: P, options: Record<string, unknown> = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** One value, or a list of them (`ns: ns1` is `ns: [ns1]`); `options` are the list's. */
export function OneOrMany<T extends TSchema>(item: T, options: { description?: string; [keyword: string]: unknown } = {}) {
  const { description, ...listOptions } = options;
  return Type.Union([item, Type.Array(item, listOptions)], description === undefined ? {} : { description });
}

export const NonEmptyString = (options: Record<string, unknown> = {}) => Type.String({ minLength: 1, ...options });

/** Text in record data: YAML reads `42` or `true` as a number or a boolean; they are meant as text. */
export const Text = Type.Union([Type.String(), Type.Number(), Type.Boolean()], { [X_ERROR]: 'must be a string' });

export const U16 = () => Type.Integer({ minimum: 0, maximum: 65535 });

export const Ttl = () => Type.Integer({ minimum: 0, maximum: MAX_TTL });

/** `5s`, `500ms`, `1m`, or a bare number of seconds; parsed (and bounded) by the rules that read it. */
export const Duration = () => {
  const message = 'must be a duration of at least 100ms, like "5s" or "500ms"';
  return Type.Union([Type.String({ maxLength: 32, [X_ERROR]: message }), Type.Number({ minimum: 0, [X_ERROR]: message })], { [X_ERROR]: message });
};
