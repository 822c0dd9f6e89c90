// The TV guide: now/next on the Live TV rows, and a grid of channels × time. The grid is
// virtualised both ways that matter: only the rows in view exist (a pool of about 30, whatever
// the number of channels), and each row holds only the chosen day's programmes. Guide data
// comes in blocks of 100 channels × one day (/guide), now/next in batches (/guide/now).

import { api } from './api.js';
import { KINDS } from './data.js';
import { h } from './dom.js';

const ROW_H = 56;
const HEAD_H = 36;
const CHANNEL_W = 180;
const PX_PER_MIN = 4;
const DAY_MS = 86_400_000;
const BLOCK = 100;
const OVERSCAN = 3;
const NOW_BATCH = 200;
const NOW_TTL_MS = 60_000;
const FRAME_BUDGET_MS = 4;
const BAND_PX = 1600;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

export function hhmm(ms) {
  return timeFormat.format(ms);
}

/** Whether a past programme can be played from the channel's archive (catch-up). */
export function catchupable(programme, archiveDays, now = Date.now()) {
  if (!archiveDays) return false;
  return Date.parse(programme.stop) <= now && Date.parse(programme.start) >= now - archiveDays * DAY_MS;
}

/** Now/next per channel for the Live TV rows, fetched in batches for the rows painted. */
export class NowNext {
  constructor(providerId) {
    this.providerId = providerId;
    this.cache = new Map(); // channel id -> { now, next, at }
    this.pending = new Set();
    this.timer = 0;
  }

  /** Fill span with the channel's now/next (at once if known, else when it arrives). */
  fill(span, channelId) {
    span.dataset.nowFor = String(channelId);
    const entry = this.cache.get(channelId);
    if (entry && Date.now() - entry.at < NOW_TTL_MS && !(entry.now && Date.parse(entry.now.stop) <= Date.now())) {
      paintNow(span, entry);
      return;
    }
    span.textContent = '';
    this.pending.add(channelId);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 16);
  }

  async flush() {
    this.timer = 0;
    const ids = [...this.pending].slice(0, NOW_BATCH);
    for (const id of ids) this.pending.delete(id);
    if (this.pending.size) this.timer = setTimeout(() => this.flush(), 0);
    if (!ids.length) return;
    let body;
    try {
      body = await api(`/api/providers/${this.providerId}/guide/now?channels=${ids.join(',')}`);
    } catch {
      return; // no guide: the rows stay as they are
    }
    const at = Date.now();
    for (const item of body.items || []) {
      const entry = { now: item.now, next: item.next, at };
      this.cache.set(item.channel_id, entry);
      for (const span of document.querySelectorAll(`[data-now-for="${item.channel_id}"]`)) paintNow(span, entry);
    }
  }
}

function paintNow(span, entry) {
  const { now, next } = entry;
  if (!now && !next) {
    span.replaceChildren();
    return;
  }
  const parts = [];
  if (now) {
    const start = Date.parse(now.start);
    const stop = Date.parse(now.stop);
    const done = Math.min(100, Math.max(0, (100 * (Date.now() - start)) / (stop - start)));
    const bar = h('span', { class: 'now-bar', 'aria-hidden': 'true' }, h('span'));
    bar.firstChild.style.width = `${done}%`;
    parts.push(h('span', { class: 'now-title' }, now.title), bar);
  }
  if (next) parts.push(h('span', { class: 'next-title' }, `${hhmm(Date.parse(next.start))} ${next.title}`));
  span.replaceChildren(...parts);
}

/** The grid view (#/guide). */
export class GuideView {
  constructor(section, app) {
    this.section = section;
    this.app = app;
    this.data = null;
    this.source = null;
    this.blocks = new Map(); // `${day}:${block}` -> Map(channelId -> {programmes, archive_days}) | 'loading'
    this.rows = new Map(); // index -> row element
    this.pool = [];
    this.frame = 0;
    this.day = startOfDay(Date.now());
    this.band = 0;
    this.build();
  }

  build() {
    this.daySelect = h('select', { id: 'guide-day' });
    this.nowButton = h('button', { type: 'button', class: 'secondary', id: 'guide-now' }, 'Now');
    this.status = h('p', { class: 'list-status', role: 'status' });
    this.spacer = h('div', { class: 'guide-spacer' });
    this.ruler = h('div', { class: 'guide-ruler', 'aria-hidden': 'true' });
    this.layer = h('div', { class: 'guide-layer' });
    this.nowLine = h('div', { class: 'guide-now-line', 'aria-hidden': 'true' });
    this.grid = h('div', { class: 'guide-grid', id: 'guide-grid', tabindex: '0', role: 'grid', 'aria-label': 'TV guide', 'aria-describedby': 'guide-help' },
      this.spacer, this.ruler, this.nowLine, this.layer);
    this.section.append(
      h('div', { class: 'browse-head' },
        h('h1', { id: 'guide-title' }, 'TV guide'),
        h('a', { href: '#/live', class: 'button secondary' }, 'Channel list')),
      h('div', { class: 'guide-controls' },
        h('label', { for: 'guide-day' }, 'Day'), this.daySelect, this.nowButton),
      h('p', { class: 'visually-hidden', id: 'guide-help' }, 'Programmes of each channel by time. A channel name or the programme on now plays the channel; a past programme marked catch-up plays from the archive; another programme opens the channel.'),
      this.status,
      this.grid);
    this.grid.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.daySelect.addEventListener('change', () => this.setDay(Number(this.daySelect.value)));
    this.nowButton.addEventListener('click', () => this.jumpToNow());
    this.grid.addEventListener('click', (event) => this.onClick(event));
    new ResizeObserver(() => this.schedule()).observe(this.grid);
    this.paintRuler();
  }

  async show() {
    const data = this.app.data;
    if (!data) {
      this.status.textContent = 'Add a provider to see its guide.';
      return;
    }
    if (data !== this.data) {
      this.data = data;
      this.blocks.clear();
      this.clearRows();
      this.status.textContent = 'Loading…';
      try {
        this.source = await data.pagedSource(KINDS.live, {}, () => {}).start();
      } catch (err) {
        this.status.textContent = String(err.message || err);
        return;
      }
      this.source.onchange = () => this.schedule();
      this.paintDays();
      this.status.textContent = this.source.length ? '' : 'No channels.';
      this.spacer.style.height = `${HEAD_H + this.source.length * ROW_H}px`;
      this.spacer.style.width = `${CHANNEL_W + 24 * 60 * PX_PER_MIN}px`;
      this.nowLine.style.height = `${HEAD_H + this.source.length * ROW_H}px`;
      this.render();
      this.jumpToNow();
      return;
    }
    this.render();
  }

  paintDays() {
    const today = startOfDay(Date.now());
    const days = [];
    for (let d = -3; d <= 3; d++) days.push(today + d * DAY_MS);
    this.daySelect.replaceChildren(...days.map((day) => h('option', { value: String(day) },
      day === today ? `Today, ${dayFormat.format(day)}` : dayFormat.format(day))));
    this.daySelect.value = String(this.day);
  }

  paintRuler() {
    const marks = [];
    for (let m = 0; m < 24 * 60; m += 30) {
      const mark = h('span', { class: 'guide-mark' }, m % 60 === 0 ? hhmm(this.day + m * 60_000) : '');
      mark.style.left = `${CHANNEL_W + m * PX_PER_MIN}px`;
      marks.push(mark);
    }
    this.ruler.replaceChildren(h('span', { class: 'guide-corner' }, dayFormat.format(this.day)), ...marks);
  }

  setDay(day) {
    this.day = day;
    this.daySelect.value = String(day);
    this.paintRuler();
    for (const row of this.rows.values()) row.state = '';
    this.render();
  }

  jumpToNow() {
    const today = startOfDay(Date.now());
    if (this.day !== today) this.setDay(today);
    const x = ((Date.now() - today) / 60_000) * PX_PER_MIN;
    this.grid.scrollLeft = Math.max(0, x - 60);
    this.render();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  clearRows() {
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
  }

  render() {
    if (!this.source || !this.grid.clientHeight) return;
    const top = this.grid.scrollTop;
    const view = this.grid.clientHeight;
    // Horizontal position in bands of BAND_PX (wider than any screen): rows repaint their
    // cells only when the band changes.
    this.band = Math.max(0, Math.floor(this.grid.scrollLeft / BAND_PX));
    const first = Math.max(0, Math.floor((top - HEAD_H) / ROW_H) - OVERSCAN);
    const last = Math.min(this.source.length - 1, Math.floor((top + view) / ROW_H) + OVERSCAN);
    for (const [index, row] of this.rows) {
      if (index < first || index > last) {
        this.rows.delete(index);
        row.remove();
        if (this.pool.length < 60) this.pool.push(row);
      }
    }
    // A frame paints programmes for FRAME_BUDGET_MS; the other new rows get their channel cell
    // only and are finished in the next frames, so a fling never stalls the scroll.
    const started = performance.now();
    let unfinished = false;
    for (let index = first; index <= last; index++) {
      let row = this.rows.get(index);
      if (!row) {
        row = this.pool.pop() || h('div', { class: 'guide-row', role: 'row' });
        row.state = '';
        row.style.transform = `translateY(${HEAD_H + index * ROW_H}px)`;
        this.rows.set(index, row);
        this.layer.append(row);
      }
      const light = performance.now() - started > FRAME_BUDGET_MS;
      this.paintRow(row, index, light);
      if (light && row.state.startsWith('light')) unfinished = true;
    }
    if (unfinished) this.schedule();
    if (this.source.ensure && last >= first) this.source.ensure(first, last);
    this.loadBlocks(first, last);
    this.placeNowLine();
  }

  /** The red line at the current time (a style write only when it moved a pixel). */
  placeNowLine() {
    const now = Date.now();
    const inDay = now >= this.day && now < this.day + DAY_MS;
    const x = inDay ? Math.round(CHANNEL_W + ((now - this.day) / 60_000) * PX_PER_MIN) : -1;
    if (x === this.nowX) return;
    this.nowX = x;
    this.nowLine.hidden = !inDay;
    if (inDay) this.nowLine.style.transform = `translateX(${x}px)`;
  }

  paintRow(row, index, light = false) {
    const channel = this.source.get(index);
    const block = this.blocks.get(`${this.day}:${Math.floor(index / BLOCK)}`);
    const guide = block && block !== 'loading' && channel ? block.get(channel.id) : undefined;
    const full = `${index}:${this.day}:${this.band}:${channel ? channel.id : '-'}:${guide ? 'g' : block === undefined || block === 'loading' ? 'w' : 'n'}`;
    if (row.state === full || (light && row.state === `light:${full}`)) return;
    const state = light && guide ? `light:${full}` : full;
    row.state = state;
    row.style.transform = `translateY(${HEAD_H + index * ROW_H}px)`;
    row.dataset.index = String(index);
    if (!channel) {
      row.replaceChildren(h('div', { class: 'guide-channel', role: 'rowheader' }, h('span', { class: 'skeleton-line' })));
      return;
    }
    const cells = [h('div', { class: 'guide-channel', role: 'rowheader', dataset: { channel: String(channel.id) } },
      h('span', { class: 'channel-number' }, channel.number != null ? String(channel.number) : ''),
      h('span', { class: 'guide-channel-name' }, channel.name))];
    const now = Date.now();
    const programmes = guide && !state.startsWith('light') ? guide.programmes : [];
    // Only the programmes near the visible hours (the band): a row holds a handful of cells.
    const bandFrom = this.day + ((this.band * BAND_PX - BAND_PX) / PX_PER_MIN) * 60_000;
    const bandTo = bandFrom + ((3 * BAND_PX) / PX_PER_MIN) * 60_000;
    for (const p of programmes) {
      const start = Math.max(Date.parse(p.start), this.day);
      const stop = Math.min(Date.parse(p.stop), this.day + DAY_MS);
      if (stop <= start || stop <= bandFrom || start >= bandTo) continue;
      const live = Date.parse(p.start) <= now && now < Date.parse(p.stop);
      const past = catchupable(p, guide.archive_days, now);
      const cell = h('button', {
        type: 'button',
        class: `guide-cell${live ? ' on-now' : ''}${past ? ' catchup' : ''}`,
        role: 'gridcell',
        'aria-label': `${p.title}, ${hhmm(Date.parse(p.start))}–${hhmm(Date.parse(p.stop))}${live ? ', on now' : ''}${past ? ', catch-up' : ''}`,
        dataset: { start: p.start, stop: p.stop },
      }, h('span', { class: 'guide-cell-title' }, p.title), h('span', { class: 'guide-cell-time' }, hhmm(Date.parse(p.start))));
      cell.programme = p;
      cell.style.left = `${CHANNEL_W + ((start - this.day) / 60_000) * PX_PER_MIN}px`;
      cell.style.width = `${Math.max(2, ((stop - start) / 60_000) * PX_PER_MIN - 2)}px`;
      cells.push(cell);
    }
    if (guide && !programmes.length && !state.startsWith('light')) cells.push(h('span', { class: 'guide-empty' }, 'No guide for this day'));
    row.channel = channel;
    row.archiveDays = guide ? guide.archive_days : null;
    row.replaceChildren(...cells);
  }

  loadBlocks(first, last) {
    for (let b = Math.floor(first / BLOCK); b <= Math.floor(last / BLOCK); b++) {
      const key = `${this.day}:${b}`;
      if (this.blocks.has(key)) continue;
      const ids = [];
      for (let i = b * BLOCK; i < Math.min(this.source.length, (b + 1) * BLOCK); i++) {
        const item = this.source.get(i);
        if (!item) return; // the channel page is still on its way; its onchange renders again
        ids.push(item.id);
      }
      if (!ids.length) continue;
      this.blocks.set(key, 'loading');
      const day = this.day;
      const data = this.data;
      const from = new Date(day).toISOString();
      const to = new Date(day + DAY_MS).toISOString();
      api(`/api/providers/${data.id}/guide?channels=${ids.join(',')}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)
        .then((body) => {
          if (data !== this.data) return;
          this.blocks.set(key, new Map((body.items || []).map((item) => [item.channel_id, item])));
          this.schedule();
        })
        .catch(() => {
          if (data === this.data) this.blocks.delete(key);
        });
    }
  }

  onClick(event) {
    const cell = event.target.closest('.guide-cell');
    const head = event.target.closest('.guide-channel');
    const row = event.target.closest('.guide-row');
    if (!row || !row.channel) return;
    const channel = row.channel;
    const providerId = this.data.id;
    if (head) {
      this.app.play({ providerId, kind: 'channel', item: channel, subtitle: `Channel ${channel.number ?? ''}` });
      return;
    }
    if (!cell) return;
    const p = cell.programme;
    const now = Date.now();
    if (Date.parse(p.start) <= now && now < Date.parse(p.stop)) {
      this.app.play({ providerId, kind: 'channel', item: channel, subtitle: p.title });
    } else if (catchupable(p, row.archiveDays, now)) {
      this.app.play({ providerId, kind: 'channel', item: channel, subtitle: `${p.title} · catch-up from ${hhmm(Date.parse(p.start))}`, catchup: p });
    } else {
      this.app.openItem(KINDS.live, channel);
    }
  }
}

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
