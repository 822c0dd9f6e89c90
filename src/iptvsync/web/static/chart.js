// Recent sync runs as an SVG chart: duration per run on top, items added (up) and removed
// (down) below, oldest on the left. A trend reads faster than a table; the table is kept
// behind a <details> for screen readers and exact numbers.

import { h, s } from './dom.js';
import { countTotals, dateTime, duration, num, runSeconds, shortDate, shortDuration } from './format.js';

const STATUS_CLASS = {
  succeeded: 'ok',
  failed: 'bad',
  cancelled: 'muted',
  guarded: 'warn',
  running: 'live',
  queued: 'live',
};

/** runs: newest first, as GET /sync returns them. width: the pixels available. */
export function runsChart(runs, width) {
  const shown = runs.filter((r) => r.started_at).slice(0, 20).reverse();
  if (!shown.length) {
    return h('p', { class: 'list-status', id: 'runs-chart-empty' }, 'No sync has run yet.');
  }
  const rows = shown.map((run) => ({ run, seconds: runSeconds(run) || 0, ...countTotals(run) }));
  const W = Math.max(280, Math.round(width));
  const left = 44;
  const right = 8;
  const topH = 96;
  const gapH = 22;
  const bottomH = 96;
  const axisH = 20;
  const H = topH + gapH + bottomH + axisH;
  const plotW = W - left - right;
  const slot = plotW / rows.length;
  const barW = Math.max(3, Math.min(28, slot * 0.6));

  const maxSeconds = Math.max(1, ...rows.map((r) => r.seconds));
  const maxCount = Math.max(1, ...rows.map((r) => Math.max(r.added, r.removed)));
  const mid = topH + gapH + bottomH / 2;
  const half = bottomH / 2 - 2;

  const summary = trendSummary(rows);
  const svg = s('svg', {
    class: 'runs-chart',
    id: 'runs-chart',
    width: W,
    height: H,
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-labelledby': 'runs-chart-title runs-chart-desc',
  },
  s('title', { id: 'runs-chart-title' }, `Last ${rows.length} sync runs`),
  s('desc', { id: 'runs-chart-desc' }, summary),
  // Axes and gridlines
  s('text', { x: left - 6, y: 10, class: 'axis-label', 'text-anchor': 'end' }, shortDuration(maxSeconds)),
  s('text', { x: left - 6, y: topH, class: 'axis-label', 'text-anchor': 'end' }, '0'),
  s('line', { x1: left, x2: W - right, y1: topH, y2: topH, class: 'axis' }),
  s('text', { x: left - 6, y: mid - half + 8, class: 'axis-label', 'text-anchor': 'end' }, `+${compact(maxCount)}`),
  s('text', { x: left - 6, y: mid + half, class: 'axis-label', 'text-anchor': 'end' }, `−${compact(maxCount)}`),
  s('line', { x1: left, x2: W - right, y1: mid, y2: mid, class: 'axis' }),
  s('text', { x: left, y: topH + 15, class: 'panel-label' }, 'Items added / removed'),
  rows.map((row, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    const durH = Math.max(1, (row.seconds / maxSeconds) * (topH - 14));
    const addH = row.added ? Math.max(1, (row.added / maxCount) * half) : 0;
    const remH = row.removed ? Math.max(1, (row.removed / maxCount) * half) : 0;
    const label = `Run ${row.run.id}, ${dateTime(row.run.started_at)}: ${row.run.status}, `
      + `${duration(row.seconds)}, ${num(row.added)} added, ${num(row.removed)} removed`;
    return s('g', { class: `run run-${STATUS_CLASS[row.run.status] || 'muted'}`, 'data-run': row.run.id },
      s('title', {}, label),
      s('rect', { class: 'bar-duration', x, y: topH - durH, width: barW, height: durH, rx: 2 }),
      addH ? s('rect', { class: 'bar-added', x, y: mid - addH, width: barW, height: addH, rx: 1 }) : null,
      remH ? s('rect', { class: 'bar-removed', x, y: mid, width: barW, height: remH, rx: 1 }) : null);
  }),
  xLabels(rows, left, slot, H - 5));

  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
    h('li', {}, h('span', { class: 'swatch swatch-duration' }), 'Duration'),
    h('li', {}, h('span', { class: 'swatch swatch-added' }), 'Added'),
    h('li', {}, h('span', { class: 'swatch swatch-removed' }), 'Removed'),
    h('li', {}, h('span', { class: 'swatch swatch-bad' }), 'Failed'));

  return h('div', { class: 'chart-wrap' }, legend, svg, runsTable(rows));
}

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function xLabels(rows, left, slot, y) {
  // Runs of one day are told apart by their time, runs over days by their date.
  const first = new Date(rows[0].run.started_at);
  const last = new Date(rows[rows.length - 1].run.started_at);
  const oneDay = first.toDateString() === last.toDateString();
  const label = (iso) => (oneDay ? timeOfDay.format(new Date(iso)) : shortDate(iso));
  const picks = new Set([0, rows.length - 1]);
  if (rows.length > 4) picks.add(Math.floor((rows.length - 1) / 2));
  return [...picks].map((i) => s('text', {
    x: left + slot * i + slot / 2,
    y,
    class: 'axis-label',
    'text-anchor': i === 0 && rows.length > 1 ? 'start' : i === rows.length - 1 && rows.length > 1 ? 'end' : 'middle',
  }, label(rows[i].run.started_at)));
}

function compact(value) {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)}k`;
  return String(value);
}

function trendSummary(rows) {
  const last = rows[rows.length - 1];
  const first = rows[0];
  const parts = [
    `Latest run ${last.run.status} in ${duration(last.seconds)}, ${num(last.added)} added, ${num(last.removed)} removed.`,
  ];
  if (rows.length > 1) {
    const trend = last.seconds < first.seconds ? 'faster' : last.seconds > first.seconds ? 'slower' : 'as fast';
    parts.push(`The oldest shown took ${duration(first.seconds)}; runs got ${trend}.`);
  }
  return parts.join(' ');
}

function runsTable(rows) {
  return h('details', { class: 'runs-table' },
    h('summary', {}, 'Runs as a table'),
    h('div', { class: 'table-scroll' },
      h('table', {},
        h('thead', {}, h('tr', {},
          ['Started', 'Status', 'Duration', 'Added', 'Updated', 'Removed'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, [...rows].reverse().map((row) => h('tr', {},
          h('td', {}, dateTime(row.run.started_at)),
          h('td', {}, row.run.status),
          h('td', {}, duration(row.seconds)),
          h('td', {}, num(row.added)),
          h('td', {}, num(row.updated)),
          h('td', {}, num(row.removed))))))));
}
