// Active streams on the dashboard: who watches what, through which provider account, bytes,
// shared viewers; the admin can stop one. Polled every 5 s while the page is visible.

import { api } from './api.js';
import { fill, h } from './dom.js';
import { num } from './format.js';

const POLL_MS = 5000;

export function streamsCard() {
  const list = h('ul', { class: 'streams', id: 'streams-list', 'aria-live': 'polite' });
  const card = h('section', { class: 'card', 'aria-labelledby': 'streams-title' },
    h('h2', { id: 'streams-title' }, 'Watching now'), list);

  async function refresh() {
    if (!card.isConnected || document.visibilityState !== 'visible') return;
    let items;
    try {
      items = (await api('/api/streams')).items;
    } catch {
      return; // not allowed or offline: leave what was shown
    }
    fill(list, items.length ? items.map(row) : h('li', { class: 'empty' }, 'Nobody is watching.'));
  }

  function row(item) {
    const stop = h('button', { type: 'button', class: 'danger small', 'data-stream': item.id }, 'Stop');
    stop.addEventListener('click', async () => {
      stop.disabled = true;
      try { await api(`/api/streams/${item.id}`, { method: 'DELETE' }); } catch { /* gone already */ }
      refresh();
    });
    const since = new Date(item.since * 1000).toLocaleTimeString();
    return h('li', { class: 'stream' },
      h('span', {}, `${item.user || 'admin'} · ${item.kind} ${item.item_id}`),
      h('span', { class: 'muted' },
        ` · ${item.account} · since ${since} · ${num(Math.round(item.bytes / 1e6))} MB · ${item.viewers} viewer(s) `),
      stop);
  }

  // The card is built before the dashboard attaches it, so the first look waits until it is
  // in the page (a refresh of a detached card does nothing, and the next poll is 5 s away).
  (function first(tries) {
    if (card.isConnected) refresh();
    else if (tries > 0) setTimeout(() => first(tries - 1), 50);
  })(40);
  setInterval(refresh, POLL_MS);
  return card;
}
