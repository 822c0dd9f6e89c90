// The TV guide: now/next on the Live TV rows, and a grid of channels × time. The grid is
// virtualised both ways: only the rows in view exist (a pool of about 30, whatever the number
// of channels), and each row holds only the programmes near the visible hours. Row and cell
// elements are recycled, not rebuilt: a scroll frame changes text, classes and positions of
// nodes that already exist (docs/web.md, "The guide"). Guide data comes in blocks of 100
// channels × one day (/guide), now/next in batches (/guide/now).

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
// New rows that get their programmes in one frame; the others show their channel first and
// are finished in the next frames (style, layout and paint cost more than the script).
const FULL_ROWS_PER_FRAME = 4;
const BAND_PX = 600;

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
    // The channel names live in one column that sticks to the left edge, not in each row: a
    // sticky element is a compositor layer of its own, and one layer is cheaper than thirty.
    // Each row names its header with aria-owns, so the grid's rows still read as rows.
    this.heads = h('div', { class: 'guide-heads' });
    this.nowLine = h('div', { class: 'guide-now-line', 'aria-hidden': 'true' });
    this.grid = h('div', { class: 'guide-grid', id: 'guide-grid', tabindex: '0', role: 'grid', 'aria-label': 'TV guide', 'aria-describedby': 'guide-help' },
      this.spacer, this.ruler, this.heads, this.nowLine, this.layer);
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
    // Cells are focusable divs (lighter than buttons for a grid redrawn while it scrolls):
    // Enter and Space act as a click.
    this.grid.addEventListener('keydown', (event) => {
      if ((event.key === 'Enter' || event.key === ' ') && event.target.closest('.guide-cell, .guide-channel')) {
        event.preventDefault();
        this.onClick(event);
      }
    });
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
    for (const row of [...this.rows.values(), ...this.pool]) {
      row.remove();
      row.head.remove();
    }
    this.rows.clear();
    this.pool = [];
  }

  render() {
    if (!this.source || !this.grid.clientHeight) return;
    // Every read first (scroll offsets, the view's size), then only writes: no layout is
    // forced in the middle of a frame.
    const top = this.grid.scrollTop;
    const view = this.grid.clientHeight;
    this.viewW = this.grid.clientWidth;
    // Horizontal position in bands of BAND_PX: rows repaint their cells only when the band
    // changes, and hold the programmes from a band before the view to a band after it.
    this.band = Math.max(0, Math.floor(this.grid.scrollLeft / BAND_PX));
    const first = Math.max(0, Math.floor((top - HEAD_H) / ROW_H) - OVERSCAN);
    const last = Math.min(this.source.length - 1, Math.floor((top + view) / ROW_H) + OVERSCAN);
    for (const [index, row] of this.rows) {
      if (index < first || index > last) {
        this.rows.delete(index);
        this.pool.push(row);
      }
    }
    // A frame paints programmes for FRAME_BUDGET_MS; the other new rows get their channel cell
    // only and are finished in the next frames, so a fling never stalls the scroll.
    const started = performance.now();
    let unfinished = false;
    let full = 0;
    // Rows in view first, then the overscan: what is seen is finished first.
    const inView = Math.max(first, Math.floor((top - HEAD_H) / ROW_H));
    for (let index = first; index <= last; index++) {
      let row = this.rows.get(index);
      if (!row) {
        row = this.pool.pop() || this.newRow();
        row.state = '';
        this.rows.set(index, row);
      }
    }
    for (let n = 0; n <= last - first; n++) {
      const index = inView + n <= last ? inView + n : first + (inView + n - last - 1);
      const row = this.rows.get(index);
      const light = full >= FULL_ROWS_PER_FRAME || performance.now() - started > FRAME_BUDGET_MS;
      if (this.paintRow(row, index, light)) full++;
      if (light && row.state.startsWith('light')) unfinished = true;
    }
    // Rows left in the pool are parked out of sight, not removed: the next frames reuse them.
    for (const row of this.pool) {
      if (!row.parked) {
        row.parked = true;
        row.state = '';
        row.hidden = true;
        row.head.hidden = true;
      }
    }
    if (unfinished) this.schedule();
    if (this.source.ensure && last >= first) this.source.ensure(first, last);
    this.loadBlocks(first, last);
    this.placeNowLine();
  }

  newRow() {
    const number = h('span', { class: 'channel-number' });
    const name = h('span', { class: 'guide-channel-name' });
    this.rowSerial = (this.rowSerial || 0) + 1;
    const headId = `guide-head-${this.rowSerial}`;
    const head = h('div', { class: 'guide-channel', role: 'rowheader', id: headId, tabindex: '0' }, number, name);
    // The cells sit in a track of their own: a row waiting for its programmes hides the track
    // (one write), not each cell.
    const track = h('div', { class: 'guide-track' });
    const row = h('div', { class: 'guide-row', role: 'row', 'aria-owns': headId }, track);
    head.row = row;
    row.head = head;
    row.track = track;
    row.headNumber = number;
    row.headName = name;
    row.cells = [];
    row.empty = null;
    this.layer.append(row);
    this.heads.append(head);
    return row;
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
    if (row.state === full || (light && row.state === `light:${full}`)) return false;
    const state = light && guide ? `light:${full}` : full;
    const y = HEAD_H + index * ROW_H;
    if (row.y !== y) {
      row.y = y;
      row.style.transform = `translateY(${y}px)`;
      row.head.style.transform = `translateY(${y - HEAD_H}px)`;
      row.dataset.index = String(index);
    }
    if (row.parked) {
      row.parked = false;
      row.hidden = false;
      row.head.hidden = false;
    }
    row.state = state;
    const id = channel ? channel.id : null;
    if (row.channelId !== id) {
      row.channelId = id;
      row.headNumber.textContent = channel && channel.number != null ? String(channel.number) : '';
      row.headName.textContent = channel ? channel.name : '';
      row.headName.className = channel ? 'guide-channel-name' : 'guide-channel-name skeleton-line';
      if (channel) {
        row.head.dataset.channel = String(channel.id);
        row.dataset.channel = String(channel.id);
      } else {
        delete row.head.dataset.channel;
        delete row.dataset.channel;
      }
    }
    row.channel = channel || null;
    row.archiveDays = guide ? guide.archive_days : null;
    const programmes = guide && !state.startsWith('light') ? guide.programmes : [];
    // Only the programmes near the visible hours (the band): a row holds a handful of cells.
    const dayStart = this.day;
    const dayEnd = dayStart + DAY_MS;
    const bandFrom = dayStart + (((this.band - 1) * BAND_PX - CHANNEL_W) / PX_PER_MIN) * 60_000;
    const bandTo = dayStart + (((this.band + 2) * BAND_PX + (this.viewW || 0)) / PX_PER_MIN) * 60_000;
    const now = Date.now();
    let used = 0;
    for (const p of programmes) {
      const t = times(p);
      if (t.stop <= bandFrom || t.start >= bandTo) continue;
      const start = Math.max(t.start, dayStart);
      const stop = Math.min(t.stop, dayEnd);
      if (stop <= start) continue;
      let cell = row.cells[used];
      if (!cell) {
        cell = h('div', { class: 'guide-cell', role: 'gridcell', tabindex: '0' });
        cell.append('');
        row.cells.push(cell);
        row.track.append(cell);
      }
      used++;
      paintCell(cell, p, t, start, stop, dayStart, now, guide.archive_days);
    }
    // An empty track is hidden whole; its cells keep what they showed for the next paint.
    const showTrack = used > 0;
    if (row.track.hidden === showTrack) row.track.hidden = !showTrack;
    if (showTrack) {
      for (let i = used; i < row.cells.length; i++) {
        const cell = row.cells[i];
        if (!cell.hidden) cell.hidden = true;
      }
    }
    const empty = Boolean(guide && !programmes.length && !state.startsWith('light'));
    if (empty && !row.empty) {
      row.empty = h('span', { class: 'guide-empty' }, 'No guide for this day');
      row.append(row.empty);
    }
    if (row.empty) row.empty.hidden = !empty;
    return programmes.length > 0;
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
    const row = head ? head.row : event.target.closest('.guide-row');
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

/** A programme's times and labels, worked out once (a scroll frame only reads them). */
function times(p) {
  if (!p.t) {
    const start = Date.parse(p.start);
    const stop = Date.parse(p.stop);
    p.t = { start, stop, from: hhmm(start), label: `${p.title}, ${hhmm(start)}–${hhmm(stop)}` };
  }
  return p.t;
}

/** Fill a recycled cell with programme p: only what differs from what it shows is written. */
function paintCell(cell, p, t, start, stop, dayStart, now, archiveDays) {
  const live = t.start <= now && now < t.stop;
  const past = !live && catchupable(p, archiveDays, now);
  const className = `guide-cell${live ? ' on-now' : ''}${past ? ' catchup' : ''}`;
  if (cell.className !== className) cell.className = className;
  const left = CHANNEL_W + ((start - dayStart) / 60_000) * PX_PER_MIN;
  const width = Math.max(2, ((stop - start) / 60_000) * PX_PER_MIN - 2);
  if (cell.left !== left || cell.width !== width) {
    cell.left = left;
    cell.width = width;
    cell.style.cssText = `left:${left}px;width:${width}px`;
  }
  if (cell.programme !== p) {
    cell.programme = p;
    // One text node, two lines: the title, then the start time (styled by ::first-line).
    cell.firstChild.data = `${p.title}\n${t.from}`;
    cell.dataset.start = p.start;
    cell.dataset.stop = p.stop;
  }
  const label = `${t.label}${live ? ', on now' : ''}${past ? ', catch-up' : ''}`;
  if (cell.label !== label) {
    cell.label = label;
    cell.setAttribute('aria-label', label);
  }
  if (cell.hidden) cell.hidden = false;
}

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
