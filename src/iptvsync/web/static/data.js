// Where the lists come from. First paint uses the snapshot's essentials (stats, categories,
// featured); a category's items come from its snapshot slice the first time it is opened; the
// whole list of a kind and searches page through the catalogue API as the user scrolls.
// Offline, the service worker answers from its cache; a page that was never fetched falls back
// to the full snapshot when the user saved it for offline use.

import { api, ApiError, paths } from './api.js';

export const KINDS = {
  movies: { key: 'movies', kind: 'movie', plural: 'movies', play: 'movie', title: 'Movies', one: 'movie' },
  series: { key: 'series', kind: 'series', plural: 'series', play: null, title: 'Series', one: 'series' },
  live: { key: 'live', kind: 'channel', plural: 'channels', play: 'channel', title: 'Live TV', one: 'channel' },
};

const PAGE_LIMIT = 200;
const MAX_IN_FLIGHT = 3;

/** A list held in memory: featured items, a category's slice. */
export class ArraySource {
  constructor(items) {
    this.items = items;
    this.length = items.length;
    this.onchange = null;
  }

  get(index) {
    return this.items[index];
  }
}

/**
 * A list fetched a page at a time as it scrolls into view: fetchPage(page, limit) resolves
 * to {total, items}. Only the pages around the visible range are requested, at most
 * MAX_IN_FLIGHT at once, so flinging to the end of 64,000 items costs a few requests.
 */
export class PagedSource {
  constructor(fetchPage, { limit = PAGE_LIMIT, onerror } = {}) {
    this.fetchPage = fetchPage;
    this.limit = limit;
    this.pages = new Map();
    this.inFlight = new Set();
    this.want = [1, 1];
    this.length = 0;
    this.onchange = null;
    this.onerror = onerror || null;
  }

  /** Load the first page (to learn the total); resolves to this. */
  async start() {
    const first = await this.fetchPage(1, this.limit);
    this.pages.set(1, first.items);
    this.length = first.total;
    return this;
  }

  pageOf(index) {
    return Math.floor(index / this.limit) + 1;
  }

  get(index) {
    const page = this.pages.get(this.pageOf(index));
    return page ? page[index - (this.pageOf(index) - 1) * this.limit] : undefined;
  }

  ensure(from, to) {
    this.want = [this.pageOf(from), this.pageOf(to)];
    this.pump();
  }

  pump() {
    const [first, last] = this.want;
    for (let page = first; page <= last && this.inFlight.size < MAX_IN_FLIGHT; page++) {
      if (!this.pages.has(page) && !this.inFlight.has(page)) this.load(page);
    }
  }

  load(page) {
    this.inFlight.add(page);
    this.fetchPage(page, this.limit)
      .then((result) => {
        this.pages.set(page, result.items);
        if (typeof result.total === 'number') this.length = result.total;
        if (this.onchange) this.onchange();
      })
      .catch((err) => {
        if (this.onerror) this.onerror(err);
      })
      .finally(() => {
        this.inFlight.delete(page);
        this.pump();
      });
  }
}

/** One provider's catalogue as this page sees it. */
export class ProviderData {
  constructor(providerId) {
    this.id = providerId;
    this.essentialsPromise = null;
    this.categoryCache = new Map();
    this.fullPromise = null;
  }

  /** {version, stats, categories, featured}; null when there is no snapshot yet. */
  essentials({ refresh = false } = {}) {
    if (!this.essentialsPromise || refresh) {
      this.essentialsPromise = api(paths.essentials(this.id)).catch((err) => {
        this.essentialsPromise = null;
        if (err instanceof ApiError && (err.code === 'no_snapshot' || err.status === 404)) {
          return null;
        }
        throw err;
      });
    }
    return this.essentialsPromise;
  }

  async categories(info) {
    const essentials = await this.essentials();
    const all = (essentials && essentials.categories) || [];
    return all.filter((c) => c.kind === info.kind || c.kind === info.plural);
  }

  async featured(info) {
    const essentials = await this.essentials();
    const featured = essentials && essentials.featured;
    if (!featured) return [];
    if (Array.isArray(featured)) {
      return featured.filter((item) => !item.kind || item.kind === info.kind || item.kind === info.plural);
    }
    return featured[info.plural] || featured[info.kind] || [];
  }

  /** A category's items from its snapshot slice, fetched once per snapshot version. */
  async categoryItems(categoryId) {
    const essentials = await this.essentials();
    const key = `${essentials ? essentials.version : 'none'}:${categoryId}`;
    if (!this.categoryCache.has(key)) {
      const promise = api(paths.category(this.id, categoryId))
        .then((body) => body.items)
        .catch(async (err) => {
          this.categoryCache.delete(key);
          if (isOffline(err)) return this.offlineItems(null, { category: categoryId });
          throw err;
        });
      this.categoryCache.set(key, promise);
    }
    return this.categoryCache.get(key);
  }

  /** Every item of a kind (optionally a category and a search), a page at a time. */
  pagedSource(info, { q = '', category = null } = {}, onerror) {
    const params = {};
    if (q) params.q = q;
    if (category != null) params.category = category;
    let fallback = null;
    const fetchPage = async (page, limit) => {
      if (fallback) return slice(await fallback, page, limit);
      try {
        const body = await api(paths.list(this.id, info.plural, { ...params, page, limit }));
        return { total: body.total, items: body.items };
      } catch (err) {
        if (!isOffline(err)) throw err;
        fallback = fallback || this.offlineItems(info, { q, category });
        return slice(await fallback, page, limit);
      }
    };
    return new PagedSource(fetchPage, { onerror });
  }

  /** The full snapshot ({movies, series, channels, *ByCategory}); cached by the service worker. */
  fullSnapshot() {
    if (!this.fullPromise) {
      this.fullPromise = api(paths.snapshot(this.id)).catch((err) => {
        this.fullPromise = null;
        throw err;
      });
    }
    return this.fullPromise;
  }

  /** Offline: answer a list from the saved full snapshot, or say it was not saved. */
  async offlineItems(info, { q = '', category = null }) {
    let snapshot;
    try {
      snapshot = await this.fullSnapshot();
    } catch {
      throw new ApiError(0, 'offline', 'Offline, and this list was not saved for offline use.');
    }
    const kinds = info ? [info] : Object.values(KINDS);
    let items = [];
    for (const k of kinds) {
      let list = snapshot[k.plural] || [];
      if (category != null) {
        const ids = (snapshot[`${k.plural}ByCategory`] || {})[category];
        if (!ids) continue;
        const byId = new Map(list.map((item) => [item.id, item]));
        list = ids.map((id) => byId.get(id)).filter(Boolean);
      }
      items = items.concat(list);
    }
    if (q) {
      const needle = q.toLocaleLowerCase();
      items = items.filter((item) => String(item.name || '').toLocaleLowerCase().includes(needle));
    }
    return items;
  }
}

function slice(items, page, limit) {
  return { total: items.length, items: items.slice((page - 1) * limit, page * limit) };
}

export function isOffline(err) {
  return err instanceof ApiError && err.code === 'offline';
}
