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
    this.shown = null; // {data, value, query} of the list on screen
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
    this.picker = new CategoryPicker(key, (value, label) => this.pickCategory(value, label));
    this.continueKind = CONTINUE_KIND[key] || null;
    this.continueList = h('ul', { class: 'continue-row' });
    this.continueRow = h('section', { class: 'continue', id: `${key}-continue`, hidden: true, 'aria-labelledby': `${key}-continue-title` },
      h('h2', { id: `${key}-continue-title` }, 'Continue watching'),
      this.continueList);
    this.libraryDirty = { resume: true, favourites: false };
    this.app.library.onChange((what, providerId) => {
      if (!this.app.data || providerId !== this.app.data.id) return;
      this.libraryDirty[what] = true;
      if (!this.section.hidden) this.refreshLibrary();
    });
    this.list = new VirtualList({
      label: title,
      layout: grid ? 'grid' : 'rows',
      minColumnWidth: 144,
      renderItem: grid ? renderCard : (el, item) => this.renderLiveRow(el, item),
      onActivate: (item) => this.app.openItem(this.info, item),
    });
    this.list.root.classList.add('browse-list');
    this.list.root.dataset.kind = key;

    this.section.append(
      h('div', { class: 'browse-head' },
        h('h1', { id: `${key}-title` }, title),
        this.count,
        key === 'live' ? h('a', { href: '#/guide', class: 'button secondary', id: 'open-guide' }, 'TV guide') : null),
      h('div', { class: 'search' },
        h('label', { for: `${key}-search`, class: 'visually-hidden' }, searchLabel),
        searchIcon(),
        this.search),
      this.continueRow,
      this.chips,
      this.picker.panel,
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
      this.essentials = essentials;
      this.libraryDirty.resume = true;
      await this.paintChips(data, essentials);
    } else {
      await this.refreshLibrary();
    }
    if (this.libraryDirty.resume) await this.refreshContinue();
    this.list.relayout();
  }

  /** The library changed (a favourite, a position): repaint what shows it. */
  async refreshLibrary() {
    const data = this.app.data;
    if (!data) return;
    if (this.libraryDirty.favourites) {
      this.libraryDirty.favourites = false;
      await this.paintChips(data, this.essentials, { keep: true });
    }
    if (this.libraryDirty.resume) await this.refreshContinue();
  }

  async refreshContinue() {
    this.libraryDirty.resume = false;
    const data = this.app.data;
    if (!this.continueKind || !data) return;
    let entries = [];
    try {
      entries = (await this.app.library.continueWatching(data.id)).filter((e) => e.kind === this.continueKind);
    } catch {
      // the row is a nicety; offline it stays hidden
    }
    this.continueList.replaceChildren(...entries.map((e) => this.continueCard(data.id, e)));
    this.continueRow.hidden = !entries.length;
  }

  continueCard(providerId, entry) {
    const item = entry.item;
    const episode = entry.kind === 'episode';
    const title = episode ? item.series_name : item.name;
    const sub = episode ? `S${item.season} E${item.number} · ${item.name}` : itemMeta(item);
    const left = entry.duration ? Math.max(1, Math.ceil((entry.duration - entry.position) / 60)) : null;
    const percent = entry.duration ? Math.min(100, (100 * entry.position) / entry.duration) : 0;
    const button = h('button', {
      type: 'button',
      class: 'continue-card',
      'aria-label': `Resume ${title}${episode ? `, ${sub}` : ''} at ${clock(entry.position)}`,
      dataset: { kind: entry.kind, id: String(entry.item_id) },
    },
    posterFrame({ name: title, poster: item.poster }),
    h('span', { class: 'card-title' }, title || ''),
    h('span', { class: 'card-meta' }, left != null ? `${sub ? `${sub} · ` : ''}${left} min left` : sub),
    h('span', { class: 'progress-line', 'aria-hidden': 'true' }, h('span')));
    // Widths from a data attribute: the CSP forbids inline styles, so set it through CSSOM.
    button.querySelector('.progress-line span').style.width = `${percent}%`;
    button.addEventListener('click', () => this.app.play({
      providerId,
      kind: entry.kind,
      item: { ...item, name: episode ? `${title} · S${item.season} E${item.number}` : item.name },
      subtitle: episode ? item.name : '',
      startAt: entry.position,
    }));
    return h('li', {}, button);
  }

  reset() {
    this.loadedFor = null;
    this.chips.replaceChildren();
    this.count.textContent = '';
    this.shown = null;
    this.list.setSource(new ArraySource([]));
  }

  async paintChips(data, essentials, { keep = false } = {}) {
    const [categories, featured, favourites] = await Promise.all([
      data.categories(this.info).catch(() => []),
      data.featured(this.info).catch(() => []),
      this.app.library.list(data.id, this.info.kind).catch(() => []),
    ]);
    this.featured = featured;
    this.favourites = favourites;
    const chips = [];
    if (featured.length) chips.push({ value: 'featured', label: 'Featured' });
    if (favourites.length) chips.push({ value: 'favourites', label: 'Favourites', count: favourites.length });
    chips.push({ value: 'all', label: 'All', count: essentialsCount(essentials, this.info) });
    // Empty categories are not worth a tap; many categories go into a searchable picker.
    const shown = categories.filter((c) => c.count == null || c.count > 0);
    this.categoryList = shown.map((c) => ({ value: String(c.id), label: c.title, count: c.count }));
    const collapsed = shown.length > CHIP_LIMIT;
    if (!collapsed) chips.push(...this.categoryList);
    const tabs = chips.map((chip) => this.chip(chip));
    if (collapsed) {
      const pick = this.chip({ value: 'pick', label: `Categories (${num(shown.length)})` });
      pick.classList.add('chip-picker');
      pick.setAttribute('aria-haspopup', 'dialog');
      pick.setAttribute('aria-expanded', 'false');
      pick.onclick = () => this.picker.toggle(pick, this.categoryList);
      this.pickChip = pick;
      tabs.push(pick);
    } else {
      this.pickChip = null;
    }
    this.picker.close();
    this.chips.replaceChildren(...tabs);
    const known = (value) => value && (chips.some((c) => c.value === value) || this.categoryList.some((c) => c.value === value));
    if (keep && known(this.selected)) {
      const category = this.categoryList.find((c) => c.value === this.selected);
      if (collapsed && category) this.markPicked(category.value, category.label);
      await this.select(this.selected, { focus: false });
    } else {
      await this.select(chips[0].value, { focus: false });
    }
  }

  chip(chip) {
    return h('button', {
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
    chip.count != null ? h('span', { class: 'chip-count' }, num(chip.count)) : null);
  }

  markPicked(value, label) {
    if (!this.pickChip) return;
    this.pickChip.dataset.value = value;
    this.pickChip.dataset.label = label;
    this.pickChip.firstChild.textContent = label;
  }

  pickCategory(value, label) {
    this.markPicked(value, label);
    this.select(value, { focus: true });
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
    if (tabs[next].dataset.value !== 'pick') this.select(tabs[next].dataset.value);
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
    const query = this.query;
    const category = value === 'all' || value === 'featured' || value === 'favourites' ? null : value;
    this.setStatus('Loading…');
    let source;
    try {
      source = await this.sourceFor(data, value, category);
    } catch (err) {
      if (token === this.loadToken) this.setStatus(errorText(err), true);
      return;
    }
    if (token !== this.loadToken) return;
    // The list on screen loaded again (its chip clicked again, the favourites changed): the
    // view stays where it is. That load can end after the user scrolled, even to the end of
    // 64,000 items; going back to the top then undid the scroll.
    const shown = this.shown;
    const same = Boolean(shown && shown.data === data && shown.value === value && shown.query === query);
    this.shown = { data, value, query };
    this.list.setSource(source, { keepPosition: same });
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
    if (value === 'favourites') return new ArraySource(this.favourites || []);
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

  /** A channel row with what is on now and next (the guide, fetched for rows in view). */
  renderLiveRow(el, item) {
    renderChannel(el, item);
    if (item === undefined || !this.app.nowNext) return;
    const guide = h('span', { class: 'row-guide' });
    el.querySelector('.row-title').after(guide);
    this.app.nowNext.fill(guide, item.id);
  }

  setStatus(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle('error', isError);
    this.status.hidden = !text;
  }
}

const CHIP_LIMIT = 20;
const CONTINUE_KIND = { movies: 'movie', series: 'episode' };

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(hh ? 2 : 1, '0');
  return `${hh ? `${hh}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`;
}

/** More than CHIP_LIMIT categories: a popover with a search box and the matching ones. */
class CategoryPicker {
  constructor(key, onpick) {
    this.onpick = onpick;
    this.input = h('input', { type: 'search', id: `${key}-category-search`, placeholder: 'Find a category', autocomplete: 'off', spellcheck: 'false' });
    this.list = h('ul', { class: 'picker-list', id: `${key}-category-list` });
    this.panel = h('div', { class: 'category-picker', role: 'dialog', 'aria-label': 'Categories', hidden: true },
      h('label', { for: `${key}-category-search`, class: 'visually-hidden' }, 'Find a category'),
      this.input, this.list);
    this.items = [];
    this.input.addEventListener('input', () => this.paint());
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.close();
        this.opener && this.opener.focus();
      }
    });
  }

  toggle(opener, items) {
    if (!this.panel.hidden) {
      this.close();
      return;
    }
    this.opener = opener;
    this.items = items;
    this.input.value = '';
    this.paint();
    this.panel.hidden = false;
    opener.setAttribute('aria-expanded', 'true');
    this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    if (this.opener) this.opener.setAttribute('aria-expanded', 'false');
  }

  paint() {
    const words = this.input.value.trim().toLowerCase();
    const matches = words ? this.items.filter((c) => c.label.toLowerCase().includes(words)) : this.items;
    this.list.replaceChildren(...matches.slice(0, 300).map((c) => {
      const button = h('button', { type: 'button', class: 'picker-item', dataset: { value: c.value } },
        h('span', {}, c.label), c.count != null ? h('span', { class: 'chip-count' }, num(c.count)) : null);
      button.addEventListener('click', () => {
        this.close();
        this.onpick(c.value, c.label);
      });
      return h('li', {}, button);
    }));
    if (!matches.length) this.list.append(h('li', { class: 'list-status' }, 'No category matches.'));
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
