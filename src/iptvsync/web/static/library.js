// The viewer's library, kept by the server (/api/me/favourites, /api/me/progress, /api/me/continue) so it follows
// them to other devices: favourite channels, movies and series, and where they stopped a movie
// or an episode ("continue watching").

import { api, authHeaders } from './api.js';

const RESUME = (pid, kind, id) => `/api/me/progress/${kind}/${pid}/${id}`;
const FAVOURITE = (pid, kind, id) => `/api/me/favourites/${kind}/${pid}/${id}`;

export class Library {
  constructor() {
    this.favourites = new Map(); // provider id -> Promise<Map<"kind:id", entry>>
    this.listeners = new Set();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  changed(what, providerId) {
    for (const fn of this.listeners) fn(what, providerId);
  }

  /** Drop what is held (another provider's data, a new token). */
  forget() {
    this.favourites.clear();
  }

  favouritesOf(providerId) {
    if (!this.favourites.has(providerId)) {
      const loading = api(`/api/me/favourites?provider=${providerId}`)
        .then((body) => new Map((body.items || []).map((e) => [`${e.kind}:${e.item_id}`, e])))
        .catch((err) => {
          this.favourites.delete(providerId);
          throw err;
        });
      this.favourites.set(providerId, loading);
    }
    return this.favourites.get(providerId);
  }

  /** The favourite items of one kind (list shape), newest first. */
  async list(providerId, kind) {
    const map = await this.favouritesOf(providerId);
    return [...map.values()].filter((e) => e.kind === kind).map((e) => e.item);
  }

  async has(providerId, kind, itemId) {
    const map = await this.favouritesOf(providerId);
    return map.has(`${kind}:${itemId}`);
  }

  /** Add or remove; resolves to the new state. */
  async setFavourite(providerId, kind, item, on) {
    const map = await this.favouritesOf(providerId);
    await api(FAVOURITE(providerId, kind, item.id), { method: on ? 'PUT' : 'DELETE' });
    const key = `${kind}:${item.id}`;
    if (on) {
      const entry = { provider_id: providerId, kind, item_id: item.id, added_at: new Date().toISOString(), item };
      // Newest first, as the server lists them.
      const rest = [...map.entries()].filter(([k]) => k !== key);
      map.clear();
      map.set(key, entry);
      for (const [k, v] of rest) map.set(k, v);
    } else {
      map.delete(key);
    }
    this.changed('favourites', providerId);
    return on;
  }

  async resumeOf(providerId, kind, itemId) {
    try {
      const body = await api(RESUME(providerId, kind, itemId));
      return body && typeof body.position === 'number' ? body.position : undefined;
    } catch {
      return undefined;
    }
  }

  async continueWatching(providerId) {
    const body = await api(`/api/me/continue?provider=${providerId}&limit=30`);
    return body.items || [];
  }

  /** Store a position; final (the page is going away) uses a keepalive request. */
  saveResume(providerId, kind, item, position, duration, final = false) {
    const body = { position_s: Math.round(position * 10) / 10 };
    if (duration !== undefined) body.duration_s = Math.round(duration * 10) / 10;
    const done = final
      ? fetch(RESUME(providerId, kind, item.id), {
        method: 'PUT',
        keepalive: true,
        headers: authHeaders({ 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
      })
      : api(RESUME(providerId, kind, item.id), { method: 'PUT', body });
    return Promise.resolve(done)
      .then(() => this.changed('resume', providerId))
      .catch(() => {
        // A lost position is not worth an error in the player.
      });
  }
}
