// Providers: the list, and a form to add one. The page checks what it can (required fields,
// http(s) URLs) and shows the server's 422 messages next to the fields they name.

import { api, ApiError, paths, requestToken } from './api.js';
import { errorText } from './browse.js';
import { announce, fill, h } from './dom.js';
import { ago } from './format.js';

const KIND_LABELS = { stalker: 'Stalker portal (MAC)', xtream: 'Xtream Codes', m3u: 'M3U playlist' };
const URL_HINTS = {
  stalker: 'The portal address, e.g. http://portal.example.com/c/',
  xtream: 'The panel address, e.g. http://panel.example.com:8080',
  m3u: 'The playlist URL, e.g. http://example.com/playlist.m3u',
};
// Which optional fields each kind shows, and which of them it needs.
const KIND_FIELDS = {
  stalker: { show: ['mac'], need: ['mac'] },
  xtream: { show: ['username', 'password'], need: ['username', 'password'] },
  m3u: { show: ['epg_url'], need: [] },
};

export class ProvidersView {
  constructor(section, app) {
    this.section = section;
    this.app = app;
    this.build();
  }

  build() {
    this.list = h('ul', { class: 'provider-list', id: 'provider-list', 'aria-labelledby': 'provider-list-title' });
    this.form = this.buildForm();
    this.tokenBox = h('div', { class: 'token-box' });
    this.section.append(
      h('div', { class: 'view-head' }, h('h1', { id: 'providers-title' }, 'Providers')),
      h('section', { class: 'card', 'aria-labelledby': 'provider-list-title' },
        h('h2', { id: 'provider-list-title' }, 'Your providers'),
        this.list),
      h('section', { class: 'card', 'aria-labelledby': 'add-title' },
        h('h2', { id: 'add-title' }, 'Add a provider'),
        this.form),
      h('section', { class: 'card', 'aria-labelledby': 'settings-title' },
        h('h2', { id: 'settings-title' }, 'This device'),
        this.themeField(),
        this.tokenBox),
    );
  }

  buildForm() {
    const field = (name, label, input, hint) => {
      input.id = `p-${name}`;
      input.name = name;
      const hintId = `p-${name}-hint`;
      const errorId = `p-${name}-error`;
      input.setAttribute('aria-describedby', [hint ? hintId : null, errorId].filter(Boolean).join(' '));
      return h('div', { class: 'field', dataset: { field: name } },
        h('label', { for: input.id }, label),
        input,
        hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
        h('p', { class: 'field-error', id: errorId, hidden: true }));
    };
    this.kind = h('select', {},
      Object.entries(KIND_LABELS).map(([value, label]) => h('option', { value }, label)));
    this.urlHint = null;
    const url = field('url', 'URL', h('input', { type: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', required: true }), URL_HINTS.stalker);
    this.urlHint = url.querySelector('.hint');
    this.summary = h('div', { class: 'form-errors', id: 'provider-form-errors', role: 'alert', tabindex: '-1', hidden: true });
    this.result = h('p', { class: 'message', id: 'provider-form-result', role: 'status' });
    const form = h('form', { id: 'provider-form', novalidate: true, 'aria-labelledby': 'add-title' },
      this.summary,
      field('name', 'Name', h('input', { type: 'text', autocomplete: 'off', required: true, maxlength: '200' })),
      field('kind', 'Kind', this.kind),
      url,
      field('mac', 'MAC address', h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', placeholder: '00:1A:79:12:34:56' }), 'The MAC the portal registered, 00:1A:79:…'),
      field('username', 'Username', h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' })),
      field('password', 'Password', h('input', { type: 'password', autocomplete: 'new-password' })),
      field('epg_url', 'Guide (XMLTV) URL', h('input', { type: 'url', inputmode: 'url', autocomplete: 'off', spellcheck: 'false' }), 'Optional'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'provider-submit' }, 'Add provider')),
      this.result);
    this.kind.addEventListener('change', () => this.showKindFields());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.formEl = form;
    this.showKindFields();
    return form;
  }

  showKindFields() {
    const kind = this.kind.value;
    for (const name of ['mac', 'username', 'password', 'epg_url']) {
      const box = this.formEl.querySelector(`[data-field=${name}]`);
      const shown = KIND_FIELDS[kind].show.includes(name) || name === 'epg_url';
      box.hidden = !shown;
      box.querySelector('input').required = KIND_FIELDS[kind].need.includes(name);
    }
    this.urlHint.textContent = URL_HINTS[kind];
  }

  async show() {
    await this.refresh();
    this.paintToken();
  }

  async refresh() {
    let providers;
    try {
      providers = await this.app.loadProviders();
    } catch (err) {
      const item = h('li', { class: 'list-status error' }, errorText(err));
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        const ask = h('button', { type: 'button', class: 'secondary', id: 'token-enter' }, 'Enter token');
        ask.addEventListener('click', async () => {
          if (await requestToken()) this.show();
        });
        item.append(' ', ask);
      }
      this.list.replaceChildren(item);
      return;
    }
    if (!providers.length) {
      this.list.replaceChildren(h('li', { class: 'list-status' }, 'No provider yet: add one below.'));
      return;
    }
    this.list.replaceChildren(...providers.map((p) => this.providerItem(p)));
  }

  providerItem(p) {
    const current = p.id === this.app.providerId;
    const use = h('button', { type: 'button', class: 'secondary', 'aria-pressed': current ? 'true' : 'false' },
      current ? 'Selected' : 'Select');
    use.addEventListener('click', () => {
      this.app.selectProvider(p.id);
      this.refresh();
    });
    const open = h('a', { class: 'button secondary', href: '#/dashboard' }, 'Dashboard');
    open.addEventListener('click', () => this.app.selectProvider(p.id));
    const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${p.name}` }, 'Delete');
    remove.addEventListener('click', () => this.remove(p));
    const synced = p.last_vod_sync_at || p.last_channel_sync_at;
    return h('li', { class: `provider${current ? ' current' : ''}`, dataset: { providerId: p.id } },
      h('div', { class: 'provider-main' },
        h('h3', {}, p.name, ' ', h('span', { class: 'badge' }, p.kind)),
        h('p', { class: 'provider-url' }, p.url),
        h('p', { class: 'provider-meta' },
          [p.mac ? `MAC ${p.mac}` : null, `Synced ${ago(synced)}`].filter(Boolean).join(' · '))),
      h('div', { class: 'actions' }, use, open, remove));
  }

  async remove(provider) {
    if (!window.confirm(`Delete ${provider.name} and everything synced from it?`)) return;
    try {
      await api(paths.provider(provider.id), { method: 'DELETE' });
      announce(`${provider.name} deleted`);
      this.result.textContent = `${provider.name} deleted.`;
    } catch (err) {
      this.result.textContent = errorText(err);
    }
    await this.refresh();
    this.app.providersChanged();
  }

  /** The form as the API body; only the fields the kind uses. */
  body() {
    const value = (name) => this.formEl.elements[name].value.trim();
    const kind = this.kind.value;
    const body = { name: value('name'), kind, url: value('url') };
    for (const name of KIND_FIELDS[kind].show) if (value(name)) body[name] = value(name);
    if (value('epg_url')) body.epg_url = value('epg_url');
    return body;
  }

  /** What the page can tell before asking the server: {field: message}. */
  check(body) {
    const errors = {};
    if (!body.name) errors.name = 'Enter a name for this provider.';
    if (!body.url) errors.url = 'Enter the URL.';
    else if (!isHttpUrl(body.url)) errors.url = 'Enter an http:// or https:// URL with a host.';
    if (body.epg_url && !isHttpUrl(body.epg_url)) errors.epg_url = 'Enter an http:// or https:// URL, or leave it empty.';
    for (const name of KIND_FIELDS[body.kind].need) {
      if (!body[name]) errors[name] = `A ${KIND_LABELS[body.kind].split(' (')[0]} provider needs a ${name === 'mac' ? 'MAC address' : name}.`;
    }
    return errors;
  }

  async submit() {
    this.clearErrors();
    this.result.textContent = '';
    const body = this.body();
    const errors = this.check(body);
    if (Object.keys(errors).length) {
      this.showErrors(errors, []);
      return;
    }
    const button = this.formEl.querySelector('#provider-submit');
    button.disabled = true;
    try {
      const created = await api(paths.providers(), { method: 'POST', body });
      this.formEl.reset();
      this.showKindFields();
      // A new provider is selected only when none was: switching away from the one being
      // browsed is the user's call, offered with a button.
      const selectIt = this.app.providerId == null;
      await this.app.providersChanged(selectIt ? created.id : undefined);
      if (selectIt) {
        this.result.textContent = `${created.name} added and selected. Open the Dashboard to sync it.`;
      } else {
        const current = this.app.providers.find((p) => p.id === this.app.providerId);
        const switchTo = h('button', { type: 'button', class: 'secondary' }, `Switch to ${created.name}`);
        switchTo.addEventListener('click', () => {
          this.app.selectProvider(created.id);
          this.result.textContent = `${created.name} selected. Open the Dashboard to sync it.`;
          this.refresh();
        });
        fill(this.result, `${created.name} added. ${current ? current.name : 'The current provider'} stays selected. `, switchTo);
      }
      announce(`${created.name} added`);
      await this.refresh();
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const [fields, general] = serverErrors(err);
        this.showErrors(fields, general.length ? general : Object.keys(fields).length ? [] : [err.message]);
      } else {
        this.showErrors({}, [errorText(err)]);
      }
    } finally {
      button.disabled = false;
    }
  }

  clearErrors() {
    this.summary.hidden = true;
    this.summary.replaceChildren();
    for (const p of this.formEl.querySelectorAll('.field-error')) {
      p.hidden = true;
      p.textContent = '';
    }
    for (const input of this.formEl.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  }

  showErrors(fields, general) {
    let first = null;
    for (const [name, message] of Object.entries(fields)) {
      const input = this.formEl.elements[name];
      const p = this.formEl.querySelector(`#p-${name}-error`);
      if (!input || !p || input.closest('.field').hidden) {
        general.push(message);
        continue;
      }
      p.textContent = message;
      p.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    }
    const count = Object.keys(fields).length;
    this.summary.replaceChildren(
      h('p', {}, count + general.length === 1 ? 'Please fix this:' : 'Please fix these:'),
      h('ul', {}, [...general.map((m) => h('li', {}, m)),
        ...Object.entries(fields).filter(([name]) => !general.includes(fields[name])).map(([name, m]) =>
          h('li', {}, h('a', { href: `#p-${name}`, onclick: (event) => { event.preventDefault(); this.formEl.elements[name].focus(); } }, m)))]));
    this.summary.hidden = false;
    if (first) first.focus();
    else this.summary.focus();
  }

  themeField() {
    const select = h('select', { id: 'theme-select' },
      [['dark', 'Dark'], ['light', 'Light'], ['system', 'Same as the system']]
        .map(([value, label]) => h('option', { value }, label)));
    select.value = currentTheme();
    select.addEventListener('change', () => applyTheme(select.value, true));
    return h('div', { class: 'field' }, h('label', { for: 'theme-select' }, 'Theme'), select);
  }

  paintToken() {
    const hasToken = !!localStorage.getItem('iptvsync.token');
    const text = hasToken
      ? 'An admin token is saved in this browser.'
      : 'No token saved; the page asks for one if the server needs it.';
    const forget = h('button', { type: 'button', class: 'secondary', id: 'token-forget', disabled: !hasToken }, 'Forget token');
    forget.addEventListener('click', () => {
      localStorage.removeItem('iptvsync.token');
      this.paintToken();
    });
    this.tokenBox.replaceChildren(h('p', {}, text), forget);
  }
}

const THEME_KEY = 'iptvsync.theme';

export function currentTheme() {
  return localStorage.getItem(THEME_KEY) || 'dark';
}

/** Dark unless the user chose otherwise on this device. */
export function applyTheme(theme = currentTheme(), save = false) {
  document.documentElement.dataset.theme = theme;
  if (save) localStorage.setItem(THEME_KEY, theme);
}

function isHttpUrl(value) {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !!url.hostname;
  } catch {
    return false;
  }
}

/** FastAPI's 422 detail -> ({field: message}, [messages without a field]). */
function serverErrors(err) {
  const fields = {};
  const general = [];
  for (const e of (err.detail && err.detail.errors) || []) {
    const loc = (e.loc || []).filter((part) => part !== 'body');
    const message = String(e.msg || '').replace(/^Value error, /, '');
    const text = message.charAt(0).toUpperCase() + message.slice(1);
    if (loc.length && !fields[loc[0]]) fields[loc[0]] = text;
    else general.push(text);
  }
  return [fields, general];
}
