/** One catalogue of API errors: every error body is `{ error, field? }`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const Errors = {
  unauthorized: () => new ApiError(401, 'missing or wrong bearer token (Authorization: Bearer TOKEN)'),
  notFound: (what: string) => new ApiError(404, `${what} not found`),
  badRequest: (message: string, field?: string) => new ApiError(400, message, field),
  unavailable: (message: string) => new ApiError(503, message),
} as const;
