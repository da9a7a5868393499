/**
 * A resources/read, resources/subscribe or resources/unsubscribe of a URI the server has no
 * resource at. The SDK answered a read `Resource not found: <uri>` with the URI whole in the
 * message and again in its data (a megabyte of URI sent, two back), and a legacy session kept
 * every URI it was asked to subscribe to, any URI, as long as it lived: a client could grow
 * the server's memory without bound. Here a read or a subscription of such a URI is refused
 * with the SDK's own ResourceNotFoundError (-32602, its data's `uri`, so that clients tell it
 * apart), the URI cut to NAME_SHOWN characters, and the resources there are named.
 */
import { ResourceNotFoundError, type McpServer } from '@modelcontextprotocol/server';
import { guardingNames, NAME_SHOWN, shownName } from './sdk-guard.js';

/** The error for a read or subscription of `uri`, none of `resources`. */
export function unknownResourceError(uri: string, resources: readonly string[]): ResourceNotFoundError {
  return new ResourceNotFoundError(uri.slice(0, NAME_SHOWN), `Resource not found: ${shownName(uri)}; the resources: ${resources.join(', ')}`);
}

/**
 * Runs `register`, which registers `server`'s resources, with the SDK's resources/read
 * handler answering a read of a URI it did not register by unknownResourceError. Returns the
 * URIs registered, for the subscription handlers' check.
 */
export function answeringUnknownResources(server: McpServer, register: () => void): ReadonlySet<string> {
  return guardingNames(server, { registrar: 'registerResource', nameArg: 1, method: 'resources/read', param: 'uri', refuse: unknownResourceError }, register);
}
