/**
 * Side channels that let the node:http adapter skip web-stream round trips on the hot path,
 * as Hono's node adapter does with its lightweight Request/Response: the adapter has already
 * read the request body into memory, and the core builds most responses from a string. Both
 * stay available through the web objects for in-process callers; these maps are only a shortcut.
 */
const requestBodies = new WeakMap<Request, string>();
const responseBodies = new WeakMap<Response, string>();

/** A Request whose body text is also remembered (the adapter read it already). */
export function requestWithText(url: string, init: RequestInit & { body: Buffer }): Request {
  const request = new Request(url, init);
  requestBodies.set(request, init.body.toString('utf8'));
  return request;
}

/** The body text the adapter recorded for this request, if any. */
export function knownRequestText(request: Request): string | undefined {
  return requestBodies.get(request);
}

/** A Response whose body text is also remembered, so an adapter can write it directly. */
export function textResponse(body: string, init: ResponseInit): Response {
  const response = new Response(body, init);
  responseBodies.set(response, body);
  return response;
}

/** The body text of a response built by `textResponse`, if this is one. */
export function knownResponseText(response: Response): string | undefined {
  return responseBodies.get(response);
}
