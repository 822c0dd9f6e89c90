// iptvsync's web page: a hash router over five views, the selected provider, the token prompt,
// the offline badge and the service worker. Plain ES modules, no build step.

import { api, onTokenNeeded, paths, setToken } from './api.js';
import { BrowseView } from './browse.js';
import { DashboardView } from './dashboard.js';
import { ProviderData, KINDS } from './data.js';
import { DetailView } from './detail.js';
import { $, $$, h } from './dom.js';
import { GuideView, NowNext } from './guide.js';
import { Library } from './library.js';
import { Player } from './player.js';
import { applyTheme, ProvidersView } from './providers.js';

const PROVIDER_KEY = 'iptvsync.provider';
const VIEWS = ['dashboard', 'movies', 'series', 'live', 'guide', 'providers'];

class App {
  constructor() {
    this.providers = [];
    this.providerId = null;
    this.data = null;
    this.current = null;
    this.itemCache = new Map();
    this.pushedDetail = false;
    this.select = $('#provider-select');
    this.library = new Library();
    this.player = new Player(this);
    this.views = {
      dashboard: new DashboardView($('#view-dashboard'), this),
      movies: new BrowseView($('#view-movies'), KINDS.movies, this),
      series: new BrowseView($('#view-series'), KINDS.series, this),
      live: new BrowseView($('#view-live'), KINDS.live, this),
      guide: new GuideView($('#view-guide'), this),
      providers: new ProvidersView($('#view-providers'), this),
    };
    this.detail = new DetailView($('#detail'), this);
    this.detail.onclose = () => this.detailClosed();
    this.select.addEventListener('change', () => {
      this.selectProvider(Number(this.select.value));
      this.route();
    });
    window.addEventListener('hashchange', () => this.route());
    // The skip link moves focus without touching the URL (the hash is the router's).
    $('.skip-link').addEventListener('click', (event) => {
      event.preventDefault();
      $('#main').focus();
    });
    window.addEventListener('online', () => this.setOnline(true));
    window.addEventListener('offline', () => this.setOnline(false));
    this.setOnline(navigator.onLine);
    onTokenNeeded((reason) => askToken(reason));
  }

  async start() {
    try {
      await this.loadProviders();
    } catch {
      // shown by the view that needs them
    }
    if (!location.hash) {
      location.replace(this.providers.length ? '#/dashboard' : '#/providers');
    }
    await this.route();
    document.documentElement.dataset.ready = 'true';
  }

  async loadProviders() {
    const body = await api(paths.providers());
    this.providers = body.items || [];
    this.paintPicker();
    const stored = Number(localStorage.getItem(PROVIDER_KEY));
    const keep = this.providers.find((p) => p.id === this.providerId)
      || this.providers.find((p) => p.id === stored)
      || this.providers[0]
      || null;
    if ((keep ? keep.id : null) !== this.providerId) this.selectProvider(keep ? keep.id : null);
    else if (keep) this.views.dashboard.provider = keep;
    return this.providers;
  }

  paintPicker() {
    this.select.replaceChildren(...(this.providers.length
      ? this.providers.map((p) => h('option', { value: String(p.id) }, p.name))
      : [h('option', { value: '' }, 'No provider')]));
    this.select.disabled = !this.providers.length;
    if (this.providerId != null) this.select.value = String(this.providerId);
  }

  selectProvider(id) {
    const provider = this.providers.find((p) => p.id === id) || null;
    this.providerId = provider ? provider.id : null;
    this.data = provider ? new ProviderData(provider.id) : null;
    this.nowNext = provider ? new NowNext(provider.id) : null;
    // Asked for now, alongside the essentials, rather than after them (the tabs' chips).
    if (provider) this.library.favouritesOf(provider.id).catch(() => {});
    this.itemCache.clear();
    if (provider) {
      localStorage.setItem(PROVIDER_KEY, String(provider.id));
      this.select.value = String(provider.id);
    }
    this.views.dashboard.setProvider(provider);
  }

  /** After adding or deleting a provider; select newId when given. */
  async providersChanged(newId) {
    await this.loadProviders();
    if (newId != null) this.selectProvider(newId);
  }

  /** A sync ended: drop cached lists so the tabs repaint from the new snapshot. */
  syncEnded(providerId) {
    if (providerId !== this.providerId) return;
    this.data = new ProviderData(providerId);
    this.itemCache.clear();
  }

  parseHash() {
    if (location.hash && !location.hash.startsWith('#/')) return null; // an in-page anchor
    const [view, itemId] = location.hash.replace(/^#\/?/, '').split('/');
    return { view: VIEWS.includes(view) ? view : 'dashboard', itemId: itemId ? decodeURIComponent(itemId) : null };
  }

  async route() {
    const parsed = this.parseHash();
    if (!parsed) return;
    const { view, itemId } = parsed;
    if (view !== this.current) {
      for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
      for (const link of $$('.tabs a')) {
        // The guide is part of Live TV.
        if (link.dataset.view === (view === 'guide' ? 'live' : view)) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
      const moved = this.current != null;
      this.current = view;
      document.title = `${$(`#view-${view} h1`) ? $(`#view-${view} h1`).textContent : view} · iptvsync`;
      if (moved && !itemId) {
        window.scrollTo(0, 0);
        $('#main').focus({ preventScroll: true });
      }
    }
    const showing = this.views[view].show();
    const info = Object.values(KINDS).find((k) => k.key === view);
    if (info && itemId) {
      this.detail.open(info, itemId, this.itemCache.get(`${view}:${itemId}`));
    } else if (this.detail.isOpen) {
      this.pushedDetail = false;
      this.detail.close();
    }
    await showing;
  }

  /** Play in the page; a live channel can zap through the Live tab's current list. */
  play(request) {
    const live = request.kind === 'channel';
    this.player.open({ ...request, neighbours: live ? (item, step) => this.neighbour(item, step) : null });
  }

  /** The channel step places away from item in the Live tab's list, or null. */
  neighbour(item, step) {
    const source = this.views.live.list.source;
    for (let i = 0; i < source.length; i++) {
      const at = source.get(i);
      if (at && at.id === item.id) return source.get(i + step) || null;
    }
    return null;
  }

  /** A list item was chosen: its detail gets a URL of its own, so Back closes it. */
  openItem(info, item) {
    this.itemCache.set(`${info.key}:${item.id}`, item);
    this.pushedDetail = true;
    location.hash = `#/${info.key}/${encodeURIComponent(item.id)}`;
  }

  detailClosed() {
    const { view, itemId } = this.parseHash() || {};
    if (!itemId) return;
    if (this.pushedDetail) {
      this.pushedDetail = false;
      history.back();
    } else {
      history.replaceState(null, '', `#/${view}`);
    }
  }

  setOnline(online) {
    const badge = $('#net-status');
    badge.hidden = online;
    document.documentElement.dataset.online = online ? 'true' : 'false';
  }
}

/** Ask for the admin token in a modal dialog; resolves to the token or null. */
function askToken(reason) {
  const dialog = $('#token-dialog');
  const input = $('#token-input');
  $('#token-reason').textContent = reason;
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const token = dialog.returnValue === 'ok' ? input.value.trim() : '';
      if (token) setToken(token);
      resolve(token || null);
    }, { once: true });
    $('#token-cancel').onclick = () => dialog.close('cancel');
    dialog.returnValue = '';
    dialog.showModal();
    input.focus();
  });
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  const hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    // Without a service worker the page still works online.
  });
  // A new version took over (its files changed on the server): offer a reload, don't force it.
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadController || document.getElementById('update-banner')) return;
    const reload = h('button', { type: 'button', class: 'primary' }, 'Reload');
    reload.addEventListener('click', () => location.reload());
    document.body.append(h('div', { class: 'update-banner', id: 'update-banner', role: 'status' },
      h('span', {}, 'A new version of this page is ready.'), reload));
  });
}

applyTheme();
registerServiceWorker();
const app = new App();
window.iptvsync = app; // for the console and the browser tests
app.start();
