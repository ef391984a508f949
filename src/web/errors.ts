/** The admin API's one error shape: `{code, message}` (and `field` when one input is to blame), with its HTTP status. */
import type {FastifyReply} from 'fastify'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

export function api__send(reply: FastifyReply, error: ApiError): FastifyReply {
  const body: Record<string, string> = {code: error.code, message: error.message}
  if (error.field) body.field = error.field
  return reply.code(error.status).type('application/json').send(body)
}

/** A JSON object body, or a 400 naming what came instead. */
export function api__object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'invalid_body', 'the request body must be a JSON object')
  return body as Record<string, unknown>
}
