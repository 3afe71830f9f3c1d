/**
 * Limits on what the API parses. A JSON body is measured by one linear pass over its bytes as they arrive
 * (aware of strings and their escapes), before `JSON.parse` sees it: parsing and then validating a body nested
 * hundreds of thousands of levels deep held the event loop for up to a second per request, and with it every
 * DNS answer of the node. Both the size (`JSON_BODY_LIMIT`) and the depth are checked while the body streams in.
 *
 * Only `application/json` is accepted (`text/plain`, Fastify's other default, is refused with a 415): every
 * route takes a JSON object, and one parser is one place to keep these limits.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** Largest accepted body, bytes (a registration of 10 000 endpoints is about 400 KB). */
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
 * Measures the nesting of JSON as it arrives, chunk by chunk, so that a body nested too deep is known at the
 * chunk that crosses the limit: the rest is neither scanned, nor kept, nor parsed. Works on UTF-8 bytes: the bytes of `{ [ } ] " \`
 * never occur inside a multi-byte character. Brackets inside strings do not count; a backslash skips the byte
 * after it, so `"\""` stays a string. The text need not be valid JSON: this only bounds what the parser will
 * be asked to do.
 */
export class DepthScanner {
  private depth = 0;
  private inString = false;
  /** The previous chunk ended with a backslash inside a string: the first byte of the next one is escaped. */
  private escaped = false;
  max = 0;

  constructor(readonly limit = JSON_MAX_DEPTH) {}

  /** Scan the next bytes; false once the nesting is deeper than the limit (then stop feeding). */
  feed(chunk: Uint8Array): boolean {
    let depth = this.depth;
    let inString = this.inString;
    let i = 0;
    if (this.escaped) {
      this.escaped = false;
      i = 1;
    }
    for (; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (c === BACKSLASH) {
          if (++i >= chunk.length) this.escaped = true;
        } else if (c === QUOTE) inString = false;
        continue;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (++depth > this.max) {
          this.max = depth;
          if (depth > this.limit) return false;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    }
    this.depth = depth;
    this.inString = inString;
    return true;
  }
}

/** The nesting depth of `text`, or `limit + 1` as soon as it is deeper than `limit`. */
export function jsonDepth(text: string, limit = JSON_MAX_DEPTH): number {
  const scanner = new DepthScanner(limit);
  scanner.feed(Buffer.from(text, 'utf8'));
  return scanner.max;
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

/**
 * Replace Fastify's body parsers with one JSON parser that reads the body itself: the size is checked against
 * Content-Length up front and per chunk, the depth per chunk (DepthScanner), and only a body within both limits
 * is decoded and handed to Fastify's own JSON parser (secure-json-parse: "__proto__" and
 * "constructor.prototype" keys are errors). Past the depth limit the rest of the body is read without being
 * scanned or kept, then refused; past the size limit the answer comes at once, with `Connection: close`.
 */
export function installJsonParser(app: FastifyInstance, opts: JsonLimitOptions = {}): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', (req: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => {
    const refuse = (reason: BodyRejection, err: ApiError) => {
      opts.onReject?.(reason);
      done(err, undefined);
    };
    // A route may take less than the app-wide limit (its `bodyLimit`), never more.
    const limit = Math.min(JSON_BODY_LIMIT, req.routeOptions.bodyLimit ?? JSON_BODY_LIMIT);
    const tooLarge = () => new ApiError(413, `request body is larger than ${limit} bytes`, 'body');
    const tooDeepError = () => new ApiError(400, `request body is nested deeper than ${JSON_MAX_DEPTH} levels`, 'body');
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return refuse('size', tooLarge());
    const scanner = new DepthScanner();
    const chunks: Buffer[] = [];
    let received = 0;
    let tooDeep = false;
    const stop = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > limit) {
        stop();
        return tooDeep ? refuse('depth', tooDeepError()) : refuse('size', tooLarge());
      }
      if (tooDeep) return;
      if (!scanner.feed(bytes)) {
        // Refused, but the rest is read (and dropped, unscanned) before answering: a client still sending its
        // body when the answer and the close came would see a broken pipe instead of the 400.
        tooDeep = true;
        chunks.length = 0;
        return;
      }
      chunks.push(bytes);
    };
    const onError = (err: Error) => {
      stop();
      done(Object.assign(err, { statusCode: 400 }), undefined);
    };
    const onEnd = () => {
      stop();
      if (tooDeep) return refuse('depth', tooDeepError());
      if (!Number.isNaN(declared) && received !== declared) return refuse('syntax', new ApiError(400, 'request body length does not match Content-Length', 'body'));
      const text = Buffer.concat(chunks, received).toString('utf8');
      void parse(req, text, (err, value) => {
        if (err) return refuse('syntax', new ApiError(400, `request body is not valid JSON: ${err.message}`, 'body'));
        done(null, value);
      });
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
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
