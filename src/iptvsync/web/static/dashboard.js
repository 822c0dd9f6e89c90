// The dashboard: counts per kind, the running sync's progress (live over SSE), start and
// cancel, the last run's outcome and a chart of recent runs.

import { api, ApiError, paths, readEvents } from './api.js';
import { errorText } from './browse.js';
import { runsChart } from './chart.js';
import { announce, fill, h } from './dom.js';
import { ago, countTotals, duration, num, percent, runSeconds } from './format.js';
import { streamsCard } from './streams.js';

const ACTIVE = new Set(['queued', 'running']);
const STATS = [
  ['movies', 'Movies'],
  ['series', 'Series'],
  ['channels', 'Channels'],
  ['categories', 'Categories'],
  // Episodes are fetched from the provider when a series is first opened, not by a sync.
  ['episodes', 'Episodes fetched'],
];

export class DashboardView {
  constructor(section, app) {
    this.section = section;
    this.app = app;
    this.providerId = null;
    this.status = null;
    this.stream = null;
    this.build();
  }

  build() {
    this.title = h('h1', { id: 'dashboard-title' }, 'Dashboard');
    this.subtitle = h('p', { class: 'subtitle', id: 'dashboard-provider' });
    this.stats = h('ul', { class: 'stats', 'aria-label': 'Catalogue counts' },
      STATS.map(([key, label]) => h('li', { class: 'stat' },
        h('span', { class: 'stat-value', id: `stat-${key}` }, '–'),
        h('span', { class: 'stat-label' }, label))));

    this.runStatus = h('span', { class: 'badge', id: 'run-status' }, 'idle');
    this.runPhase = h('span', { class: 'phase', id: 'run-phase' });
    this.pagesBar = progressBar('pages', 'Pages');
    this.itemsBar = progressBar('items', 'Items');
    this.runMeta = h('p', { class: 'run-meta', id: 'run-meta' });
    this.message = h('p', { class: 'message', id: 'sync-message', role: 'status' });

    this.scope = h('select', { id: 'sync-scope' },
      [['auto', 'Smart (what is missing or stale)'], ['all', 'Everything'], ['vod', 'Movies and series'], ['channels', 'Live channels']]
        .map(([value, label]) => h('option', { value }, label)));
    this.mode = h('select', { id: 'sync-mode' },
      [['auto', 'Auto'], ['incremental', 'Incremental (newest first)'], ['full', 'Full walk']]
        .map(([value, label]) => h('option', { value }, label)));
    this.startButton = h('button', { type: 'button', class: 'primary', id: 'sync-start' }, 'Start sync');
    this.cancelButton = h('button', { type: 'button', class: 'danger', id: 'sync-cancel', disabled: true }, 'Cancel sync');
    this.startButton.addEventListener('click', () => this.start());
    this.cancelButton.addEventListener('click', () => this.cancel());

    this.lastRun = h('div', { class: 'last-run', id: 'last-run' });
    this.chart = h('div', { class: 'chart', id: 'runs-chart-box' });
    this.offline = h('div', { class: 'offline-save' });

    this.section.append(
      h('div', { class: 'view-head' }, this.title, this.subtitle),
      this.stats,
      h('section', { class: 'card sync-card', 'aria-labelledby': 'sync-title' },
        h('div', { class: 'card-head' },
          h('h2', { id: 'sync-title' }, 'Sync'),
          h('p', { class: 'run-state' }, this.runStatus, this.runPhase)),
        this.pagesBar.root,
        this.itemsBar.root,
        this.runMeta,
        h('details', { class: 'sync-options' },
          h('summary', {}, 'Options'),
          h('div', { class: 'sync-options-grid' },
            h('div', { class: 'field' }, h('label', { for: 'sync-scope' }, 'What'), this.scope),
            h('div', { class: 'field' }, h('label', { for: 'sync-mode' }, 'How'), this.mode))),
        h('div', { class: 'actions' }, this.startButton, this.cancelButton),
        this.message),
      h('section', { class: 'card', 'aria-labelledby': 'last-run-title' },
        h('h2', { id: 'last-run-title' }, 'Last sync'),
        this.lastRun),
      h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
        h('h2', { id: 'chart-title' }, 'Recent syncs'),
        this.chart),
      h('section', { class: 'card', 'aria-labelledby': 'offline-title' },
        h('h2', { id: 'offline-title' }, 'Offline'),
        this.offline),
      streamsCard(),
    );
    new ResizeObserver(() => this.paintChart()).observe(this.chart);
  }

  /** The selected provider changed (or was removed: null). */
  setProvider(provider) {
    this.stopFollowing();
    this.providerId = provider ? provider.id : null;
    this.provider = provider;
    this.status = null;
    this.subtitle.textContent = provider ? `${provider.name} · ${provider.kind}` : '';
    this.paintRun(null);
    this.lastRun.replaceChildren();
    this.chart.replaceChildren();
    for (const [key] of STATS) document.getElementById(`stat-${key}`).textContent = '–';
    this.startButton.disabled = !provider;
    this.paintOffline();
  }

  async show() {
    if (!this.providerId) {
      this.message.textContent = 'Add a provider first, on the Providers tab.';
      return;
    }
    await this.refresh();
  }

  async refresh() {
    const providerId = this.providerId;
    if (providerId == null) return;
    let status;
    try {
      status = await api(paths.sync(providerId));
    } catch (err) {
      if (providerId === this.providerId) this.say(errorText(err), true);
      return;
    }
    if (providerId !== this.providerId) return;
    this.status = status;
    this.paintStats(status.stats);
    const running = status.running;
    this.paintRun(running || status.last_runs[0] || null);
    this.paintLastRun(status.last_runs.find((r) => !ACTIVE.has(r.status)) || null);
    this.paintChart();
    if (running && !this.stream) this.follow(running.id);
  }

  paintStats(stats) {
    for (const [key] of STATS) {
      document.getElementById(`stat-${key}`).textContent = num(stats ? stats[key] : null);
    }
    this.paintCategoryCount();
  }

  /** The categories the Movies, Series and Live tabs list: the ones that hold something.
   * Read from /categories (not the essentials, which the tabs fetch themselves). */
  async paintCategoryCount() {
    const providerId = this.providerId;
    if (providerId == null) return;
    let body;
    try {
      body = await api(`/api/providers/${providerId}/categories`);
    } catch {
      return; // the server's count stays
    }
    if (providerId !== this.providerId) return;
    const listed = (body.items || []).filter((c) => c.count == null || c.count > 0).length;
    document.getElementById('stat-categories').textContent = num(listed);
  }

  paintRun(run) {
    const active = !!run && ACTIVE.has(run.status);
    this.runStatus.textContent = run ? run.status : 'idle';
    this.runStatus.className = `badge status-${run ? run.status : 'idle'}`;
    this.runPhase.textContent = run && active ? phaseLabel(run.phase) : '';
    const p = (run && run.progress) || {};
    this.pagesBar.set(p.done_pages, p.total_pages, active);
    this.itemsBar.set(p.done_items, p.total_items, active);
    const meta = [];
    if (active) {
      if (p.items_per_s) meta.push(`${num(Math.round(p.items_per_s))} items/s`);
      if (p.eta_s > 0) meta.push(`about ${duration(p.eta_s)} left`);
      const seconds = runSeconds(run);
      if (seconds != null) meta.push(`running for ${duration(seconds)}`);
    } else if (run && run.finished_at) {
      meta.push(`Finished ${ago(run.finished_at)}`);
      const seconds = runSeconds(run);
      if (seconds != null) meta.push(`took ${duration(seconds)}`);
    }
    this.runMeta.textContent = meta.join(' · ');
    this.cancelButton.disabled = !active;
    this.startButton.disabled = active || !this.providerId;
    this.section.dataset.running = active ? 'true' : 'false';
  }

  paintLastRun(run) {
    if (!run) {
      this.lastRun.replaceChildren(h('p', { class: 'list-status' }, 'No sync has finished yet.'));
      return;
    }
    const totals = countTotals(run);
    const rows = Object.entries(run.counts || {}).map(([kind, c]) => h('tr', {},
      h('th', { scope: 'row' }, kind),
      h('td', {}, num(c.added)), h('td', {}, num(c.updated)),
      h('td', {}, num(c.unchanged)), h('td', {}, num(c.removed))));
    fill(this.lastRun,
      h('p', {},
        h('span', { class: `badge status-${run.status}`, id: 'last-run-status' }, run.status),
        ` ${ago(run.finished_at || run.started_at)} · took ${duration(runSeconds(run))} · `,
        h('span', { class: 'added' }, `+${num(totals.added)}`), ' ',
        h('span', { class: 'removed' }, `−${num(totals.removed)}`),
        run.incomplete ? h('span', { class: 'badge status-guarded' }, 'incomplete') : null),
      run.error ? h('p', { class: 'error' }, `${run.error.message || run.error.code}`) : null,
      (run.warnings || []).length
        ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' },
          run.warnings.map((w) => h('li', {}, typeof w === 'string' ? w : w.message || w.code || JSON.stringify(w))))
        : null,
      h('div', { class: 'table-scroll' },
        h('table', { class: 'counts' },
          h('caption', { class: 'visually-hidden' }, 'Items per kind in the last sync'),
          h('thead', {}, h('tr', {}, ['Kind', 'Added', 'Updated', 'Unchanged', 'Removed'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, rows))),
    );
  }

  paintChart() {
    if (!this.status) return;
    const width = this.chart.clientWidth;
    if (!width) return;
    // A repaint (each refresh, each resize) keeps the runs table's own <details> and summary,
    // open or not, and puts the new table inside: a click on the summary while the chart
    // repainted pressed one element and released over its replacement, and was lost.
    const kept = this.chart.querySelector('details.runs-table');
    this.chart.replaceChildren(runsChart(this.status.last_runs || [], width));
    const fresh = this.chart.querySelector('details.runs-table');
    if (kept && fresh) {
      kept.querySelector('.table-scroll').replaceWith(fresh.querySelector('.table-scroll'));
      fresh.replaceWith(kept);
    }
  }

  async start() {
    const providerId = this.providerId;
    if (providerId == null) return;
    this.startButton.disabled = true;
    let runId = null;
    this.say('Starting…');
    try {
      const body = { scope: this.scope.value, mode: this.mode.value };
      const started = await api(paths.sync(providerId), { method: 'POST', body });
      runId = started.run_id;
      const plan = Object.entries(started.plan || {}).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`);
      this.say(`Sync started${plan.length ? ` (${plan.join(', ')})` : ''}.`);
      announce('Sync started');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'sync_running') {
        runId = err.detail.run_id;
        this.say('A sync of this provider is already running.');
      } else {
        this.say(errorText(err), true);
        this.startButton.disabled = false;
        return;
      }
    }
    this.paintRun({ status: 'queued', phase: 'planning', progress: {} });
    this.follow(runId);
  }

  async cancel() {
    const providerId = this.providerId;
    if (providerId == null) return;
    this.cancelButton.disabled = true;
    let runId = null;
    try {
      runId = (await api(paths.cancel(providerId), { method: 'POST' })).run_id;
      this.say('Cancelling: the sync stops after the pages in flight.');
      announce('Cancelling sync');
    } catch (err) {
      this.say(err instanceof ApiError && err.code === 'nothing_running' ? 'Nothing is running.' : errorText(err), true);
    }
    if (!this.stream && runId != null) this.follow(runId);
    else if (!this.stream) await this.refresh();
  }

  /** Follow one run over SSE until it ends; reconnect if the connection drops. Without a run id
   * the server waits for the provider's next run, so the page always names the run it wants. */
  follow(runId) {
    this.stopFollowing();
    const providerId = this.providerId;
    const controller = new AbortController();
    this.stream = controller;
    const run = async () => {
      let ended = false;
      for (let attempt = 0; !ended && !controller.signal.aborted && attempt < 30; attempt++) {
        try {
          await readEvents(paths.events(providerId, runId), (event) => {
            if (!event.data || event.data === 'null') {
              if (event.event === 'end') ended = true;
              return;
            }
            const current = JSON.parse(event.data);
            this.paintRun(current);
            if (event.event === 'end') ended = true;
          }, controller.signal);
          ended = true; // the server closes the stream when the run has ended
        } catch (err) {
          if (controller.signal.aborted) return;
          await sleep(2000);
        }
      }
      if (this.stream === controller) this.stream = null;
      if (controller.signal.aborted || providerId !== this.providerId) return;
      await this.refresh();
      const last = this.status && this.status.last_runs[0];
      if (last && !ACTIVE.has(last.status)) {
        this.say(`Sync ${last.status}.`);
        announce(`Sync ${last.status}`);
        this.app.syncEnded(providerId);
        this.paintCategoryCount(); // from the new snapshot's essentials
      }
    };
    run();
  }

  stopFollowing() {
    if (this.stream) this.stream.abort();
    this.stream = null;
  }

  say(text, isError = false) {
    this.message.textContent = text;
    this.message.classList.toggle('error', isError);
  }

  paintOffline() {
    const providerId = this.providerId;
    if (providerId == null) {
      this.offline.replaceChildren();
      return;
    }
    const note = h('p', { class: 'list-status', id: 'offline-note' },
      'Save the whole catalogue on this device to browse it without a connection.');
    const button = h('button', { type: 'button', class: 'secondary', id: 'offline-save' }, 'Save for offline');
    button.addEventListener('click', async () => {
      button.disabled = true;
      note.textContent = 'Saving…';
      try {
        const snapshot = await this.app.data.fullSnapshot();
        const total = ['movies', 'series', 'channels'].reduce((n, k) => n + (snapshot[k] || []).length, 0);
        note.textContent = `Saved ${num(total)} items (version ${snapshot.version}).`;
      } catch (err) {
        note.textContent = errorText(err);
      } finally {
        button.disabled = false;
      }
    });
    this.offline.replaceChildren(note, button);
  }
}

function progressBar(key, label) {
  const labelId = `${key}-label`;
  const fill = h('div', { class: 'bar-fill' });
  const bar = h('div', {
    class: 'bar',
    role: 'progressbar',
    id: `${key}-bar`,
    'aria-labelledby': labelId,
    'aria-valuemin': '0',
    'aria-valuemax': '100',
  }, fill);
  const text = h('span', { class: 'bar-text', id: `${key}-text` });
  const root = h('div', { class: 'bar-row' }, h('span', { class: 'bar-label', id: labelId }, label), bar, text);
  return {
    root,
    set(done, total, active) {
      const pct = percent(done || 0, total || 0);
      bar.classList.toggle('indeterminate', active && pct == null);
      if (pct == null) {
        bar.removeAttribute('aria-valuenow');
        bar.removeAttribute('aria-valuetext');
        fill.style.width = '0%';
        text.textContent = done ? num(done) : '';
        return;
      }
      bar.setAttribute('aria-valuenow', String(pct));
      bar.setAttribute('aria-valuetext', `${num(done)} of ${num(total)} ${label.toLowerCase()}, ${pct}%`);
      fill.style.width = `${pct}%`;
      text.textContent = `${num(done)} / ${num(total)} · ${pct}%`;
    },
  };
}

function phaseLabel(phase) {
  if (!phase) return '';
  const [scope, step] = String(phase).split(':');
  const names = { vod: 'movies and series', channels: 'channels', movie: 'movies', series: 'series', epg: 'guide', indexes: 'building indexes', snapshot: 'building snapshot', planning: 'planning' };
  const what = names[scope] || scope;
  return step ? `${what}: ${step}` : what;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
