// A virtualised list / grid: only the rows in view (plus a few) exist in the DOM, so 64,000 or
// 300,000 items scroll as smoothly as 50. It is a listbox: one tab stop, arrow keys / Page keys /
// Home / End move the active option (aria-activedescendant), Enter or Space opens it.
//
// A source is {length, get(index) -> item | undefined, ensure(from, to)?, onchange}; an item
// that is not loaded yet renders as a placeholder and is painted when the source says so.

import { h } from './dom.js';

// Browsers cap an element's height (Firefox near 17.9M px); above this the scroll range is
// scaled so a very long list still reaches its end.
const MAX_SCROLL_PX = 8_000_000;
const OVERSCAN_ROWS = 3;
let nextId = 0;

export class VirtualList {
  constructor({
    label,
    layout = 'grid',
    minColumnWidth = 144,
    captionHeight = 58,
    rowHeight = 68,
    gap = 12,
    renderItem,
    onActivate,
  }) {
    this.id = `vlist-${++nextId}`;
    this.layout = layout;
    this.minColumnWidth = minColumnWidth;
    this.captionHeight = captionHeight;
    this.fixedRowHeight = rowHeight;
    this.gap = layout === 'grid' ? gap : 0;
    this.renderItem = renderItem;
    this.onActivate = onActivate;
    this.source = { length: 0, get: () => undefined };
    this.active = -1;
    this.elements = new Map();
    this.pool = [];
    this.cols = 1;
    this.rowHeight = rowHeight;
    this.colWidth = 0;
    this.scale = 1;
    this.renderedView = 0;
    this.renderedHeight = 0;
    this.frame = 0;

    this.spacer = h('div', { class: 'vlist-spacer' });
    this.layer = h('div', { class: 'vlist-layer' });
    this.root = h(
      'div',
      {
        class: `vlist vlist-${layout}`,
        id: this.id,
        role: 'listbox',
        tabindex: '0',
        'aria-label': label,
      },
      this.spacer,
      this.layer,
    );
    this.root.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.root.addEventListener('keydown', (event) => this.onKey(event));
    this.root.addEventListener('click', (event) => this.onClick(event));
    this.root.addEventListener('focus', () => {
      if (this.active < 0 && this.source.length) this.setActive(this.firstVisibleIndex());
    });
    new ResizeObserver(() => this.relayout()).observe(this.root);
  }

  setLabel(label) {
    this.root.setAttribute('aria-label', label);
  }

  /** Show another source; scroll back to the top unless keepPosition. */
  setSource(source, { keepPosition = false } = {}) {
    if (this.source && this.source.onchange) this.source.onchange = null;
    this.source = source;
    source.onchange = () => this.schedule();
    for (const el of this.elements.values()) this.release(el);
    this.elements.clear();
    this.active = -1;
    this.root.removeAttribute('aria-activedescendant');
    if (!keepPosition) this.root.scrollTop = 0;
    this.relayout();
    // Still focused (the list changed under the keyboard): keep an active option, in view
    // (setActive scrolls to it, so 0 would undo keepPosition).
    if (document.activeElement === this.root && this.length) {
      this.setActive(keepPosition ? this.firstVisibleIndex() : 0);
    }
  }

  get length() {
    return this.source.length || 0;
  }

  relayout() {
    const width = this.root.clientWidth;
    if (!width) return; // hidden: laid out when shown again
    // Read before the geometry changes: scrollTop is in pixels of the old rows (see reanchor).
    const anchor = this.root.scrollTop > 0 ? this.anchor() : null;
    if (this.layout === 'grid') {
      // Phones get smaller posters, three across, as phone apps do.
      const min = width < 560 ? Math.round(this.minColumnWidth * 0.72) : this.minColumnWidth;
      this.cols = Math.max(1, Math.floor((width + this.gap) / (min + this.gap)));
      this.colWidth = (width - this.gap * (this.cols - 1)) / this.cols;
      this.rowHeight = Math.round(this.colWidth * 1.5 + this.captionHeight + this.gap);
    } else {
      this.cols = 1;
      this.colWidth = width;
      this.rowHeight = this.fixedRowHeight;
    }
    if (anchor && (anchor.cols !== this.cols || anchor.rowHeight !== this.rowHeight
        || anchor.view !== this.root.clientHeight)) {
      this.reanchor(anchor);
    }
    this.render();
  }

  /** Where the view is, as an item: the first one in view and how far its row is scrolled past
   * (a fraction of a row), with the geometry of the last render; and whether it is at the end. */
  anchor() {
    const top = this.root.scrollTop;
    const virtualTop = top * this.scale;
    const row = Math.floor(virtualTop / this.rowHeight);
    // The view may already have its new height (the browser may have clamped scrollTop too):
    // at the end under either height counts.
    const view = Math.max(this.renderedView, this.root.clientHeight);
    return {
      cols: this.cols,
      rowHeight: this.rowHeight,
      view: this.renderedView,
      index: row * this.cols,
      within: virtualTop / this.rowHeight - row,
      atEnd: top + view >= this.renderedHeight - 1,
    };
  }

  /** After the columns, the row height or the view's height changed, the same scrollTop is
   * another row (thousands of items away in a long list, or short of the end when rows got
   * taller): scroll so the anchor's item is at the top again, or the end stays the end. */
  reanchor(anchor) {
    const { height, view } = this.metrics(); // the new geometry; sets this.scale
    // The spacer first, or the browser clamps scrollTop to the old scroll range.
    this.spacer.style.height = `${height}px`;
    if (anchor.atEnd) {
      this.root.scrollTop = height - view;
    } else {
      const row = Math.floor(anchor.index / this.cols) + anchor.within;
      // A scaled range (see MAX_SCROLL_PX) maps back through the new scale.
      this.root.scrollTop = (row * this.rowHeight) / this.scale;
    }
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  metrics() {
    const rows = Math.ceil(this.length / this.cols);
    const natural = rows * this.rowHeight;
    const view = this.root.clientHeight;
    const height = Math.min(natural, MAX_SCROLL_PX);
    const scrollRange = Math.max(1, height - view);
    this.scale = natural > height ? (natural - view) / scrollRange : 1;
    return { rows, height, view, virtualTop: this.root.scrollTop * this.scale };
  }

  firstVisibleIndex() {
    const { virtualTop } = this.metrics();
    return Math.min(this.length - 1, Math.floor(virtualTop / this.rowHeight) * this.cols);
  }

  render() {
    if (!this.root.clientWidth) return;
    const { rows, height, view, virtualTop } = this.metrics();
    this.spacer.style.height = `${height}px`;
    this.renderedView = view; // for anchor()
    this.renderedHeight = height;
    const firstRow = Math.floor(virtualTop / this.rowHeight);
    const lastRow = Math.min(rows - 1, Math.floor((virtualTop + view) / this.rowHeight));
    const from = Math.max(0, firstRow - OVERSCAN_ROWS) * this.cols;
    const to = Math.min(this.length, (lastRow + 1 + OVERSCAN_ROWS) * this.cols);
    // Rows are placed relative to the real scroll position, so a scaled range still lines up.
    const offset = this.root.scrollTop - virtualTop;

    const wanted = new Set();
    for (let i = from; i < to; i++) wanted.add(i);
    if (this.active >= 0 && this.active < this.length) wanted.add(this.active);
    for (const [index, el] of this.elements) {
      if (!wanted.has(index)) {
        this.elements.delete(index);
        this.release(el);
      }
    }
    const itemHeight = this.rowHeight - this.gap;
    for (const index of wanted) {
      let el = this.elements.get(index);
      if (!el) {
        el = this.acquire();
        el.id = `${this.id}-o${index}`;
        el.dataset.index = String(index);
        el.setAttribute('aria-posinset', String(index + 1));
        this.elements.set(index, el);
        this.layer.append(el);
      }
      el.setAttribute('aria-setsize', String(this.length));
      el.setAttribute('aria-selected', index === this.active ? 'true' : 'false');
      const item = this.source.get(index);
      if (el.item !== item || el.item === undefined) {
        el.item = item;
        el.replaceChildren();
        el.classList.toggle('placeholder', item === undefined);
        this.renderItem(el, item, index);
      }
      const row = Math.floor(index / this.cols);
      const col = index % this.cols;
      const x = col * (this.colWidth + this.gap);
      const y = row * this.rowHeight + offset;
      el.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
      el.style.width = `${Math.floor(this.colWidth)}px`;
      el.style.height = `${itemHeight}px`;
    }
    if (this.source.ensure && to > from) this.source.ensure(from, to - 1);
  }

  acquire() {
    const el = this.pool.pop() || h('div', { role: 'option', class: 'vlist-item' });
    el.item = undefined;
    return el;
  }

  release(el) {
    el.remove();
    el.item = undefined;
    el.replaceChildren();
    if (this.pool.length < 200) this.pool.push(el);
  }

  setActive(index) {
    if (!this.length) return;
    this.active = Math.max(0, Math.min(this.length - 1, index));
    this.scrollToIndex(this.active);
    this.render();
    this.root.setAttribute('aria-activedescendant', `${this.id}-o${this.active}`);
  }

  scrollToIndex(index) {
    const { view } = this.metrics();
    const top = Math.floor(index / this.cols) * this.rowHeight;
    const virtualTop = this.root.scrollTop * this.scale;
    if (top < virtualTop) this.root.scrollTop = top / this.scale;
    else if (top + this.rowHeight > virtualTop + view) {
      this.root.scrollTop = (top + this.rowHeight - view) / this.scale;
    }
  }

  onKey(event) {
    if (!this.length || event.altKey || event.ctrlKey || event.metaKey) return;
    const view = this.root.clientHeight;
    const pageRows = Math.max(1, Math.floor(view / this.rowHeight));
    const current = this.active < 0 ? this.firstVisibleIndex() : this.active;
    const grid = this.layout === 'grid';
    let next = current;
    switch (event.key) {
      case 'ArrowRight': if (!grid) return; next = current + 1; break;
      case 'ArrowLeft': if (!grid) return; next = current - 1; break;
      case 'ArrowDown': next = current + this.cols; break;
      case 'ArrowUp': next = current - this.cols; break;
      case 'PageDown': next = current + pageRows * this.cols; break;
      case 'PageUp': next = current - pageRows * this.cols; break;
      case 'Home': next = 0; break;
      case 'End': next = this.length - 1; break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        if (this.active >= 0) this.activate(this.active);
        else this.setActive(current);
        return;
      default:
        return;
    }
    event.preventDefault();
    this.setActive(next);
  }

  onClick(event) {
    const el = event.target.closest('.vlist-item');
    if (!el || !this.root.contains(el)) return;
    const index = Number(el.dataset.index);
    this.setActive(index);
    this.activate(index);
  }

  activate(index) {
    const item = this.source.get(index);
    if (item !== undefined && this.onActivate) this.onActivate(item, index);
  }
}
