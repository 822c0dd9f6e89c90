// The detail view: a modal <dialog> (focus stays inside, Escape closes, focus returns to the
// list). Movies and channels get a play link; a series gets its seasons and episodes, which
// the server fetches from the provider on first request.

import { api, ApiError, getToken, paths } from './api.js';
import { announce, fill, h } from './dom.js';
import { errorText, itemMeta, posterFrame } from './browse.js';
import { num } from './format.js';

export class DetailView {
  constructor(dialog, app) {
    this.dialog = dialog;
    this.body = dialog.querySelector('.detail-body');
    this.app = app;
    this.token = 0;
    this.onclose = null;
    // The close button stays put while the body repaints, so focus does not get lost.
    this.closeButton = h('button', { type: 'button', class: 'icon-button close', 'aria-label': 'Close' }, '✕');
    this.closeButton.addEventListener('click', () => this.close());
    dialog.prepend(h('div', { class: 'detail-bar' }, this.closeButton));
    dialog.addEventListener('close', () => {
      this.token++;
      if (this.onclose) this.onclose();
    });
    // A click on the backdrop (outside the panel) closes, as on a phone sheet.
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog) dialog.close();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /** Show item (from a list) at once, then fill in what the detail endpoint adds. */
  async open(info, itemId, item) {
    const token = ++this.token;
    const providerId = this.app.providerId;
    const data = this.app.data;
    const base = item || { id: itemId, name: 'Loading…' };
    this.paint(info, base, providerId, null);
    if (!this.dialog.open) this.dialog.showModal();
    this.closeButton.focus();

    const path = info.key === 'series'
      ? paths.series(providerId, itemId)
      : paths.item(providerId, info.plural, itemId);
    let detail = null;
    let problem = null;
    const guide = info.key === 'live'
      ? api(`${paths.guide(providerId, itemId)}?${dayRange()}`).then((body) => body.items || []).catch(() => null)
      : Promise.resolve(null);
    try {
      detail = await api(path);
    } catch (err) {
      problem = err;
    }
    const programmes = await guide;
    if (token !== this.token) return;
    const merged = { ...base, ...(detail || {}) };
    let categoryTitle = null;
    try {
      const categories = data ? await data.categories(info) : [];
      const match = categories.find((c) => c.id === merged.category_id);
      categoryTitle = match ? match.title : null;
    } catch {
      // the category name is a nicety
    }
    if (token !== this.token) return;
    this.paint(info, merged, providerId, { problem, categoryTitle, programmes, loaded: true });
  }

  paint(info, item, providerId, extra) {
    const { problem = null, categoryTitle = null, programmes = null, loaded = false } = extra || {};
    // open() paints twice (the list's item at once, then the detail): a play link focused in
    // between is replaced by a new one, so the focus moves to it rather than out of the dialog.
    const active = document.activeElement;
    const refocus = !!active && this.body.contains(active)
      ? ['.detail-info a.play', '.detail-info button.watch', '.detail-info button.favourite'].find((sel) => active.matches(sel))
      : null;
    const meta = [itemMeta(item), categoryTitle].filter(Boolean).join(' · ');
    const facts = [
      ['Genres', item.genres],
      ['Director', item.director],
      ['Actors', item.actors],
      ['Duration', item.duration ? formatMinutes(item.duration) : null],
      ['Channel number', info.key === 'live' ? item.number : null],
    ].filter(([, value]) => value != null && value !== '');

    const children = [
      h('div', { class: info.key === 'live' ? 'detail-hero compact' : 'detail-hero' },
        posterFrame(item, info.key === 'live' ? 'logo detail-logo' : 'poster detail-poster'),
        h('div', { class: 'detail-info' },
          h('h2', { id: 'detail-title' }, item.name || ''),
          meta ? h('p', { class: 'meta' }, meta) : null,
          h('div', { class: 'detail-actions' },
            info.play ? this.playButton(providerId, info.play, item) : null,
            this.favouriteButton(providerId, info.kind, item),
            info.play ? playLink(providerId, info.play, item.id, `Open ${item.name || ''} in a player app`) : null),
          item.description ? h('p', { class: 'description' }, item.description) : null,
          facts.length
            ? h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]))
            : null)),
    ];
    if (problem && !(problem instanceof ApiError && problem.status === 404 && info.key !== 'series')) {
      children.push(h('p', { class: 'list-status error', role: 'status' }, errorText(problem)));
    }
    if (programmes && programmes.length) children.push(guideBlock(programmes));
    if (info.key === 'series') {
      children.push(loaded ? seasonsBlock(providerId, item, (ep, season) => this.app.play({
        providerId,
        kind: 'episode',
        item: ep,
        subtitle: `${item.name || ''} · ${seasonName(season)}, episode ${ep.number ?? ''}`,
      })) : h('p', { class: 'list-status' }, 'Loading seasons…'));
    }
    fill(this.body, children);
    if (refocus) this.body.querySelector(refocus)?.focus();
  }

  /** ▶ Play: the in-page player (player.js). */
  playButton(providerId, kind, item) {
    const button = h('button', { type: 'button', class: 'primary watch', 'aria-label': `Play ${item.name || ''}`.trim() }, '▶ Play');
    button.addEventListener('click', () => this.app.play({
      providerId,
      kind,
      item,
      subtitle: kind === 'channel' && item.number != null ? `Channel ${item.number}` : '',
    }));
    return button;
  }

  /** ☆ / ★: a favourite of this viewer, kept by the server (library.js). */
  favouriteButton(providerId, kind, item) {
    const button = h('button', { type: 'button', class: 'secondary favourite', 'aria-pressed': 'false' }, '☆ Favourite');
    const show = (on) => {
      button.setAttribute('aria-pressed', on ? 'true' : 'false');
      button.textContent = on ? '★ Favourite' : '☆ Favourite';
    };
    const library = this.app.library;
    library.has(providerId, kind, item.id).then(show).catch(() => {});
    button.addEventListener('click', async () => {
      const on = button.getAttribute('aria-pressed') !== 'true';
      button.disabled = true;
      try {
        show(await library.setFavourite(providerId, kind, item, on));
      } catch (err) {
        announce(`Could not change the favourite: ${errorText(err)}`);
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }
}

function formatMinutes(value) {
  const minutes = Number(value);
  if (!Number.isFinite(minutes)) return String(value);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

// Signed play URLs by token, provider, kind and item: { promise, url, until }. A link can be
// painted more than once (the detail view repaints when the detail arrives), and each copy
// must get the signed URL that was asked for, or is being asked for, by an earlier one.
const signedLinks = new Map();
const SIGNED_LINKS_MAX = 500;
// Signed URLs live for hours (PLAY_LINK_TTL_S); one this close to its end is asked for again.
const SIGNED_MARGIN_MS = 5 * 60 * 1000;

/** The signing of this item's play URL done or under way, if still good; else undefined. */
function knownSigned(key) {
  const entry = signedLinks.get(key);
  return entry && (!entry.url || entry.until - SIGNED_MARGIN_MS > Date.now()) ? entry : undefined;
}

function signedLink(key, path) {
  const entry = knownSigned(key);
  if (entry) return entry;
  const fresh = { url: null, until: 0, promise: null };
  fresh.promise = api(path).then((body) => {
    fresh.url = body.url;
    fresh.until = Date.now() + Number(body.expires_in || 0) * 1000;
    return body.url;
  }).catch((err) => {
    if (signedLinks.get(key) === fresh) signedLinks.delete(key);
    throw err;
  });
  signedLinks.delete(key);
  signedLinks.set(key, fresh);
  // Oldest first (insertion order): a long browse does not grow this without end.
  while (signedLinks.size > SIGNED_LINKS_MAX) signedLinks.delete(signedLinks.keys().next().value);
  return fresh;
}

/**
 * A play link to the play endpoint, which answers 302 to a freshly resolved stream URL. With
 * an admin token in use a plain link cannot carry the Authorization header, so the link is
 * swapped for a signed one (GET .../play-link/...) as soon as it is pointed at or focused; a
 * click that comes first waits for it and opens it (still within the click's activation).
 * A URL already signed for the same item (by an earlier paint of this link) is used at once.
 */
function playLink(providerId, kind, itemId, label) {
  const link = h('a', {
    class: 'button secondary play',
    href: paths.play(providerId, kind, itemId),
    target: '_blank',
    rel: 'noopener noreferrer',
    'aria-label': label.trim(),
  }, 'Open in app ↗');
  if (!getToken()) return link;
  const use = (url) => {
    link.href = url;
    link.dataset.signed = 'true';
    return url;
  };
  const key = `${getToken()}|${providerId}|${kind}|${itemId}`;
  const sign = () => {
    const entry = signedLink(key, paths.playLink(providerId, kind, itemId));
    return entry.url ? Promise.resolve(use(entry.url)) : entry.promise.then(use);
  };
  if (knownSigned(key)) sign().catch(() => {});
  for (const type of ['pointerenter', 'focus', 'touchstart']) {
    link.addEventListener(type, () => sign().catch(() => {}), { passive: true });
  }
  link.addEventListener('click', (event) => {
    if (link.dataset.signed) return;
    event.preventDefault();
    sign().then((url) => window.open(url, '_blank', 'noopener')).catch(() => {});
  });
  return link;
}

function seasonsBlock(providerId, series, play) {
  const seasons = Array.isArray(series.seasons) ? series.seasons : [];
  if (!seasons.length) {
    return h('section', { class: 'seasons', 'aria-labelledby': 'seasons-title' },
      h('h3', { id: 'seasons-title' }, 'Seasons'),
      h('p', { class: 'list-status' }, 'No episodes listed.'));
  }
  const select = h('select', { id: 'season-select' },
    seasons.map((season, i) => h('option', { value: String(i) }, seasonName(season))));
  const list = h('ol', { class: 'episodes', id: 'episode-list', 'aria-labelledby': 'seasons-title' });
  const paint = () => {
    const season = seasons[Number(select.value)] || seasons[0];
    const episodes = season.episodes || [];
    list.replaceChildren(...episodes.map((ep) =>
      h('li', { class: 'episode' },
        h('span', { class: 'episode-number' }, ep.number != null ? `E${ep.number}` : ''),
        h('span', { class: 'episode-name' }, ep.name || `Episode ${ep.number ?? ''}`),
        episodeButton(ep, season, play),
        playLink(providerId, 'episode', ep.id, `Open ${seasonName(season)}, episode ${ep.number ?? ''} in a player app`))));
    summary.textContent = `${num(episodes.length)} episode${episodes.length === 1 ? '' : 's'}`;
  };
  const summary = h('span', { class: 'count', 'aria-live': 'polite' });
  select.addEventListener('change', paint);
  paint();
  return h('section', { class: 'seasons', 'aria-labelledby': 'seasons-title' },
    h('div', { class: 'seasons-head' },
      h('h3', { id: 'seasons-title' }, `Seasons (${seasons.length})`),
      h('label', { for: 'season-select', class: 'visually-hidden' }, 'Season'),
      select,
      summary),
    list);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** from/to of today (local midnight to midnight): the channel detail lists the day. Late in
 * the evening it lists three hours ahead at least, so that what comes on after midnight is
 * still shown as next. */
function dayRange() {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const end = Math.max(start.getTime() + 86_400_000, Date.now() + 3 * 3_600_000);
  return new URLSearchParams({ from: start.toISOString(), to: new Date(end).toISOString() });
}

/** The day's programmes of the channel, the one on now marked. */
function guideBlock(programmes) {
  const now = Date.now();
  return h('section', { class: 'guide', 'aria-labelledby': 'detail-guide-title' },
    h('h3', { id: 'detail-guide-title' }, 'Today'),
    h('ol', { class: 'programmes' }, programmes.map((p) => {
      const start = Date.parse(p.start);
      const stop = Date.parse(p.stop);
      const onNow = start <= now && now < stop;
      return h('li', { class: onNow ? 'programme now' : 'programme' },
        h('span', { class: 'programme-time' }, `${timeFormat.format(start)}–${timeFormat.format(stop)}`),
        h('span', { class: 'programme-title' }, p.title || ''),
        onNow ? h('span', { class: 'badge status-running' }, 'Now') : null);
    })));
}

function episodeButton(ep, season, play) {
  const button = h('button', {
    type: 'button',
    class: 'primary watch',
    'aria-label': `Play ${seasonName(season)}, episode ${ep.number ?? ''}`,
  }, '▶');
  button.addEventListener('click', () => play(ep, season));
  return button;
}

function seasonName(season) {
  return season.name || `Season ${season.number}`;
}
