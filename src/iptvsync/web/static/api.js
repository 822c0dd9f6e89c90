// The one way this page talks to the server: JSON over fetch, the error envelope turned into an
// ApiError, the admin token asked for on 401 and kept in localStorage, SSE read with fetch.

import { SseParser } from './sse.js';

const TOKEN_KEY = 'iptvsync.token';

export class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail || {};
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

let askForToken = null;
let pendingPrompt = null;
// Once the user cancels the prompt, 401s fail quietly until they ask to enter a token.
let declined = false;

/** Install the function that asks the user for a token: (reason) => Promise<string|null>. */
export function onTokenNeeded(fn) {
  askForToken = fn;
}

function promptOnce(reason) {
  // Several requests can fail with 401 at once; ask once and let them all retry.
  if (!pendingPrompt) {
    pendingPrompt = Promise.resolve(askForToken ? askForToken(reason) : null)
      .then((token) => {
        declined = !token;
        return token;
      })
      .finally(() => {
        pendingPrompt = null;
      });
  }
  return pendingPrompt;
}

/** Ask for a token now (after the user declined once); resolves to the token or null. */
export function requestToken(reason = 'Enter the admin token of this server.') {
  declined = false;
  return promptOnce(reason);
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's HTML page, say
  }
  const error = body && body.error;
  if (error) return new ApiError(response.status, error.code, error.message, error.detail);
  return new ApiError(response.status, 'http_error', `HTTP ${response.status}`);
}

async function send(path, init) {
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetch(path, { ...init, headers: authHeaders(init.headers) });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'offline', 'The server cannot be reached.');
    }
    const needsToken = response.status === 401 || response.status === 403;
    if (needsToken && attempt < 3 && askForToken && !declined) {
      const error = await errorOf(response);
      const reason = response.status === 401
        ? 'This server needs its admin token.'
        : `That token is not allowed to do this: ${error.message}`;
      const token = await promptOnce(reason);
      if (!token) throw error;
      setToken(token);
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

/** GET/POST/PATCH/DELETE a JSON endpoint; resolves to the parsed body (null for 204). */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await send(path, init);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Read a Server-Sent Events stream; calls onEvent({event, data, id}) for each event and
 * resolves when the server ends the stream. Abort it with the signal.
 */
export async function readEvents(path, onEvent, signal) {
  const response = await send(path, {
    method: 'GET',
    signal,
    cache: 'no-store',
    headers: { Accept: 'text/event-stream' },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const event of parser.push(value)) onEvent(event);
    }
  } finally {
    reader.releaseLock();
  }
}

export const paths = {
  providers: () => '/api/providers',
  provider: (id) => `/api/providers/${id}`,
  sync: (id) => `/api/providers/${id}/sync`,
  cancel: (id) => `/api/providers/${id}/sync/cancel`,
  events: (id, runId) => `/api/providers/${id}/sync/events${runId != null ? `?run_id=${runId}` : ''}`,
  snapshot: (id) => `/api/providers/${id}/snapshot`,
  essentials: (id) => `/api/providers/${id}/snapshot/essentials`,
  category: (id, categoryId) => `/api/providers/${id}/snapshot/categories/${categoryId}`,
  list: (id, plural, params) => `/api/providers/${id}/${plural}?${new URLSearchParams(params)}`,
  item: (id, plural, itemId) => `/api/providers/${id}/${plural}/${itemId}`,
  series: (id, seriesId) => `/api/providers/${id}/series/${seriesId}`,
  guide: (id, channelId) => `/api/providers/${id}/channels/${channelId}/epg`,
  play: (id, kind, itemId) => `/api/providers/${id}/play/${kind}/${itemId}`,
  playLink: (id, kind, itemId) => `/api/providers/${id}/play-link/${kind}/${itemId}`,
};
