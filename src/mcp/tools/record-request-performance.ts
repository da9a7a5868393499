/**
 * record_request_performance: one handled request, recorded as response_time, throughput and
 * error_rate tagged by its endpoint.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { PerfwatchError } from '../../errors.js';
import type { Front } from '../front.js';
import { intRange, perLimits, type TagLimits } from '../schemas.js';
import { WRITE, defineTool } from './define.js';

export const requestInputFor = perLimits((l: TagLimits) =>
  z.strictObject({
    response_time: z
      .number({ error: 'must be a finite number of ms >= 0' })
      .min(0, { error: 'must be a finite number of ms >= 0' })
      .describe('ms'),
    success: z.boolean({ error: 'must be true or false' }),
    // The endpoint becomes the endpoint tag's value: the tag limit applies.
    endpoint: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(l.maxTagValueLength, { error: `must be at most ${l.maxTagValueLength} characters`, abort: true })
      .optional()
      .describe('e.g. /users'),
    status_code: intRange(100, 599).optional(),
  }),
);

export const RequestOutput = z.object({
  recorded: z.array(z.string()),
  endpoint: z.string().nullable(),
});

/**
 * The library's fields under the arguments that carried them: the schema cannot refuse every
 * value the library does (a response_time of 1e200 is over its 2^333 bound), and an agent
 * cannot act on an error about `responseTimeMs`, an option it never saw. The endpoint becomes
 * the endpoint tag, whose errors (a control character) the library says of `tags.endpoint`.
 */
const TOOL_FIELDS: Record<string, string> = { responseTimeMs: 'response_time', statusCode: 'status_code', 'tags.endpoint': 'endpoint' };

function asToolField(error: unknown): unknown {
  if (!(error instanceof PerfwatchError) || error.field === undefined) return error;
  const field = TOOL_FIELDS[error.field];
  return field === undefined ? error : error.withField(field);
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'record_request_performance',
    {
      title: 'Record a request',
      description:
        'Record one handled request: response_time, throughput, error_rate per endpoint.',
      input: requestInputFor(front.tagLimits),
      output: RequestOutput,
      annotations: WRITE,
    },
    (args) => {
      try {
        host.monitor.recordRequest({
          responseTimeMs: args.response_time,
          success: args.success,
          ...(args.endpoint !== undefined ? { endpoint: args.endpoint } : {}),
          ...(args.status_code !== undefined ? { statusCode: args.status_code } : {}),
        });
      } catch (error) {
        throw asToolField(error);
      }
      host.wrote();
      return {
        structured: { recorded: ['response_time', 'throughput', 'error_rate'], endpoint: args.endpoint ?? null },
        text: `recorded ${args.success ? 'a successful' : 'a failed'} request${args.endpoint ? ` to ${args.endpoint}` : ''}: ${args.response_time} ms`,
      };
    },
  );
}
