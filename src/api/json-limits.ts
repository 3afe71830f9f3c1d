/**
 * Limits on what the API parses. A JSON body is measured by one linear pass over its text (aware of strings
 * and their escapes) before `JSON.parse` sees it: parsing and then validating a body nested hundreds of
 * thousands of levels deep held the event loop for up to a second per request, and with it every DNS answer of
 * the node. The body size is capped by Fastify while the body streams in (`JSON_BODY_LIMIT`).
 *
 * Only `application/json` is accepted (`text/plain`, Fastify's other default, is refused with a 415): every
 * route takes a JSON object, and one parser is one place to keep these limits.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** Largest accepted body, bytes. A probe report of 10 000 results fits in about 900 KB. */
export const JSON_BODY_LIMIT = 1 << 20;
/** Deepest accepted nesting of objects and arrays; the deepest body any route takes is 4 levels. */
export const JSON_MAX_DEPTH = 32;

export type BodyRejection = 'size' | 'depth' | 'syntax' | 'type';

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The nesting depth of the JSON text, stopping as soon as it exceeds `limit` (then returns `limit + 1`).
 * Brackets inside strings do not count; a backslash skips the character after it, so `"\""` stays a string.
 * The text need not be valid JSON: this only bounds what the parser will be asked to do.
 */
export function jsonDepth(text: string, limit = JSON_MAX_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return max;
}

export interface JsonLimitOptions {
  /** Called once per refused body, by reason (for metrics). */
  onReject?: (reason: BodyRejection) => void;
}

/** Fastify's error codes for the bodies it refuses before the parser runs, by the rejection they are. */
const FASTIFY_BODY_ERRORS: Readonly<Record<string, 'size' | 'type'>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'size',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'type',
};

/** Replace Fastify's body parsers with one JSON parser that checks the depth before parsing. */
export function installJsonParser(app: FastifyInstance, opts: JsonLimitOptions = {}): void {
  // Fastify's own JSON parser (secure-json-parse: "__proto__" and "constructor.prototype" keys are errors).
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT }, (req: FastifyRequest, body: string | Buffer, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (jsonDepth(text) > JSON_MAX_DEPTH) {
      opts.onReject?.('depth');
      done(new ApiError(400, `request body is nested deeper than ${JSON_MAX_DEPTH} levels`, 'body'), undefined);
      return;
    }
    parse(req, text, (err, value) => {
      if (err) {
        opts.onReject?.('syntax');
        done(new ApiError(400, `request body is not valid JSON: ${err.message}`, 'body'), undefined);
        return;
      }
      done(null, value);
    });
  });
}

/** The `{ error, field }` answer for a body Fastify refused before the parser ran (too large, wrong type). */
export function describeBodyError(code: string | undefined, contentType: string | undefined): { reason: BodyRejection; status: number; error: string } | undefined {
  switch (code === undefined ? undefined : FASTIFY_BODY_ERRORS[code]) {
    case 'size':
      return { reason: 'size', status: 413, error: `request body is larger than ${JSON_BODY_LIMIT} bytes` };
    case 'type':
      return { reason: 'type', status: 415, error: `unsupported content type ${JSON.stringify(contentType ?? '')}: send application/json` };
    default:
      return undefined;
  }
}
