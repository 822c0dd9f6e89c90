// The Movies, Series and Live tabs: categories as chips (from the snapshot's essentials), a
// virtualised grid or list, and a search box.

import { ApiError } from './api.js';
import { ArraySource } from './data.js';
import { announce, debounce, fill, h, s } from './dom.js';
import { num } from './format.js';
import { VirtualList } from './vlist.js';

export class BrowseView {
  constructor(section, info, app) {
    this.section = section;
    this.info = info;
    this.app = app;
    this.selected = null;
    this.query = '';
    this.loadedFor = null;
    this.loadToken = 0;
    this.build();
  }

  build() {
    const { key, title, one } = this.info;
    const searchLabel = `Search ${key === 'live' ? 'channels' : title.toLowerCase()}`;
    const grid = key !== 'live';
    this.count = h('p', { class: 'count', id: `${key}-count`, 'aria-live': 'polite' });
    this.search = h('input', {
      type: 'search',
      id: `${key}-search`,
      placeholder: searchLabel,
      autocomplete: 'off',
      enterkeyhint: 'search',
      spellcheck: 'false',
    });
    this.chips = h('div', {
      class: 'chips',
      role: 'tablist',
      'aria-label': `${title} categories`,
      id: `${key}-categories`,
    });
    this.status = h('p', { class: 'list-status', role: 'status', id: `${key}-status` });
    this.list = new VirtualList({
      label: title,
      layout: grid ? 'grid' : 'rows',
      minColumnWidth: 144,
      renderItem: grid ? renderCard : renderChannel,
      onActivate: (item) => this.app.openItem(this.info, item),
    });
    this.list.root.classList.add('browse-list');
    this.list.root.dataset.kind = key;

    this.section.append(
      h('div', { class: 'browse-head' },
        h('h1', { id: `${key}-title` }, title),
        this.count),
      h('div', { class: 'search' },
        h('label', { for: `${key}-search`, class: 'visually-hidden' }, searchLabel),
        searchIcon(),
        this.search),
      this.chips,
      this.status,
      this.list.root,
    );
    const runSearch = debounce(() => this.setQuery(this.search.value), 300);
    this.search.addEventListener('input', runSearch);
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.setQuery(this.search.value);
      } else if (event.key === 'ArrowDown' && this.list.length) {
        event.preventDefault();
        this.list.root.focus();
      }
    });
    this.chips.addEventListener('keydown', (event) => this.onChipKey(event));
    this.list.root.setAttribute('aria-describedby', `${key}-count`);
    this.emptyText = `No ${one === 'series' ? 'series' : `${one}s`} here.`;
  }

  /** Called each time the tab is shown; repaints when the provider or its snapshot changed. */
  async show() {
    const data = this.app.data;
    if (!data) {
      this.reset();
      this.setStatus('Add a provider to browse its catalogue.');
      return;
    }
    let essentials = null;
    try {
      essentials = await data.essentials();
    } catch (err) {
      this.setStatus(errorText(err), true);
    }
    const key = `${data.id}:${essentials ? essentials.version : 'none'}`;
    if (key !== this.loadedFor || data !== this.loadedData) {
      this.loadedFor = key;
      this.loadedData = data;
      await this.paintChips(data, essentials);
    }
    this.list.relayout();
  }

  reset() {
    this.loadedFor = null;
    this.chips.replaceChildren();
    this.count.textContent = '';
    this.list.setSource(new ArraySource([]));
  }

  async paintChips(data, essentials) {
    const [categories, featured] = await Promise.all([
      data.categories(this.info).catch(() => []),
      data.featured(this.info).catch(() => []),
    ]);
    this.featured = featured;
    const chips = [];
    if (featured.length) chips.push({ value: 'featured', label: 'Featured' });
    chips.push({ value: 'all', label: 'All', count: essentialsCount(essentials, this.info) });
    for (const c of categories) chips.push({ value: String(c.id), label: c.title, count: c.count });
    this.chips.replaceChildren(
      ...chips.map((chip) =>
        h('button', {
          type: 'button',
          role: 'tab',
          class: 'chip',
          'aria-selected': 'false',
          'aria-controls': this.list.id,
          tabindex: '-1',
          dataset: { value: chip.value, label: chip.label },
          onclick: () => this.select(chip.value),
        },
        h('span', {}, chip.label),
        chip.count != null ? h('span', { class: 'chip-count' }, num(chip.count)) : null)),
    );
    await this.select(chips[0].value, { focus: false });
  }

  onChipKey(event) {
    const tabs = [...this.chips.querySelectorAll('[role=tab]')];
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    let next = at;
    if (event.key === 'ArrowRight') next = (at + 1) % tabs.length;
    else if (event.key === 'ArrowLeft') next = (at - 1 + tabs.length) % tabs.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = tabs.length - 1;
    else if (event.key === 'ArrowDown') {
      event.preventDefault();
      this.list.root.focus();
      return;
    } else return;
    event.preventDefault();
    tabs[next].focus();
    this.select(tabs[next].dataset.value);
  }

  setQuery(value) {
    const query = value.trim();
    if (query === this.query) return;
    this.query = query;
    this.select(this.selected || 'all');
  }

  async select(value, { focus = false } = {}) {
    const data = this.app.data;
    if (!data) return;
    this.selected = value;
    let label = 'All';
    for (const tab of this.chips.querySelectorAll('[role=tab]')) {
      const on = tab.dataset.value === value;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      if (on) {
        label = tab.dataset.label;
        if (focus) tab.focus();
        tab.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      }
    }
    const token = ++this.loadToken;
    const category = value === 'all' || value === 'featured' ? null : value;
    this.setStatus('Loading…');
    let source;
    try {
      source = await this.sourceFor(data, value, category);
    } catch (err) {
      if (token === this.loadToken) this.setStatus(errorText(err), true);
      return;
    }
    if (token !== this.loadToken) return;
    this.list.setSource(source);
    const what = this.query ? `“${this.query}” in ${label}` : label;
    this.list.setLabel(`${this.info.title}: ${what}`);
    const noun = source.length === 1 ? this.info.one : pluralOf(this.info);
    this.count.textContent = `${num(source.length)} ${noun}`;
    this.setStatus(source.length ? '' : this.query ? `Nothing matches “${this.query}”.` : this.emptyText);
    if (this.query) announce(`${num(source.length)} results for ${this.query}`);
  }

  async sourceFor(data, value, category) {
    const onerror = (err) => this.setStatus(errorText(err), true);
    if (this.query) {
      return data.pagedSource(this.info, { q: this.query, category }, onerror).start();
    }
    if (value === 'featured') return new ArraySource(this.featured || []);
    if (value === 'all') return data.pagedSource(this.info, {}, onerror).start();
    try {
      return new ArraySource(await data.categoryItems(value));
    } catch (err) {
      // No snapshot yet (first sync still running): page the category from the catalogue.
      if (err instanceof ApiError && err.status === 404) {
        return data.pagedSource(this.info, { category }, onerror).start();
      }
      throw err;
    }
  }

  setStatus(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle('error', isError);
    this.status.hidden = !text;
  }
}

function pluralOf(info) {
  return info.one === 'series' ? 'series' : `${info.one}s`;
}

function essentialsCount(essentials, info) {
  const stats = essentials && essentials.stats;
  if (!stats) return null;
  const value = stats[info.plural] ?? stats[info.kind];
  return typeof value === 'number' ? value : null;
}

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.code === 'offline') return err.message || 'Offline.';
    return err.message || `Error (${err.code})`;
  }
  return String(err && err.message ? err.message : err);
}

function initials(name) {
  // The first letter or digit of the first two words: "The \"Bitter\" River" -> TB.
  const letters = String(name || '')
    .split(/\s+/)
    .map((word) => (word.match(/[\p{L}\p{N}]/u) || [''])[0])
    .filter(Boolean);
  return letters.slice(0, 2).join('').toUpperCase() || '?';
}

/** An image that disappears if it fails, leaving the initials behind it. */
export function lazyImage(url, className) {
  if (!url) return null;
  const img = h('img', {
    src: url,
    alt: '',
    loading: 'lazy',
    decoding: 'async',
    referrerpolicy: 'no-referrer',
    class: className,
  });
  img.addEventListener('error', () => img.remove(), { once: true });
  return img;
}

export function posterFrame(item, className = 'poster') {
  return h('div', { class: className },
    h('span', { class: 'poster-fallback', 'aria-hidden': 'true' }, initials(item.name)),
    lazyImage(item.poster || item.logo));
}

export function itemMeta(item) {
  const parts = [];
  if (item.year) parts.push(String(item.year));
  if (typeof item.rating === 'number') parts.push(`★ ${item.rating.toFixed(1)}`);
  return parts.join(' · ');
}

function renderCard(el, item) {
  if (item === undefined) {
    el.append(h('div', { class: 'poster skeleton' }), h('div', { class: 'card-title skeleton-line' }));
    el.setAttribute('aria-label', 'Loading');
    return;
  }
  el.removeAttribute('aria-label');
  fill(el,
    posterFrame(item),
    h('div', { class: 'card-title' }, item.name),
    h('div', { class: 'card-meta' }, itemMeta(item)),
  );
}

function renderChannel(el, item) {
  if (item === undefined) {
    el.append(h('div', { class: 'logo skeleton' }), h('div', { class: 'row-title skeleton-line' }));
    el.setAttribute('aria-label', 'Loading');
    return;
  }
  el.removeAttribute('aria-label');
  fill(el,
    h('span', { class: 'channel-number' }, item.number != null ? String(item.number) : ''),
    posterFrame(item, 'logo'),
    h('span', { class: 'row-title' }, item.name),
    item.archive ? h('span', { class: 'badge' }, 'Archive') : null,
  );
}

function searchIcon() {
  return s('svg', { viewBox: '0 0 24 24', 'aria-hidden': 'true', class: 'search-icon' },
    s('path', { d: 'M10 3a7 7 0 0 1 5.6 11.2l5.1 5.1-1.4 1.4-5.1-5.1A7 7 0 1 1 10 3zm0 2a5 5 0 1 0 0 10 5 5 0 0 0 0-10z' }));
}
