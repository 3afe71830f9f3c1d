/** `GET /v1/explain?name=&type=&client=&ecs=`: the decision for a client, made by the code that answers DNS. */
import type { FastifyInstance } from 'fastify';
import { explain, ExplainError } from '../../answer/explain.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';

interface ExplainQuery {
  name: string;
  type?: string;
  client?: string;
  ecs?: string;
}

const explainSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 255 },
      type: { type: 'string', enum: ['A', 'AAAA', 'a', 'aaaa'] },
      client: { type: 'string', maxLength: 64 },
      ecs: { type: 'string', maxLength: 64 },
    },
  },
} as const;

export function registerExplainRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: ExplainQuery }>('/v1/explain', { schema: explainSchema }, async (req) => {
    const { name, type, client, ecs } = req.query;
    const clientAddress = client ?? (ecs === undefined ? req.ip : undefined);
    try {
      return explain(deps.holder.current, {
        name,
        ...(type !== undefined ? { type } : {}),
        ...(clientAddress !== undefined ? { client: clientAddress } : {}),
        ...(ecs !== undefined ? { ecs } : {}),
      });
    } catch (err) {
      if (err instanceof ExplainError) throw new ApiError(err.status, err.message, err.field);
      throw err;
    }
  });
}
