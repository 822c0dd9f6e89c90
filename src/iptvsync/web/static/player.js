// The player: live channels, movies and episodes in the page. The stream always comes through
// iptvsync's play endpoint (a signed URL from /play-link, which also says what the stream most
// likely is). HLS plays through hls.js (native HLS where there is no Media Source Extensions,
// as on iPhones), MPEG-TS through mpegts.js, files natively. Both players are vendored
// (static/vendor/, scripts/vendor-web.sh) and loaded the first time something plays.

import { api, ApiError, paths } from './api.js';
import { h } from './dom.js';

const SAVE_EVERY_MS = 10_000;
const RESUME_MIN_S = 5;
const SEEK_STEP_S = 10;

let hlsModule = null;
let mpegtsLoaded = null;

function loadHls() {
  hlsModule ||= import('./vendor/hls.min.js').then((m) => m.default);
  return hlsModule;
}

/** mpegts.js is a UMD bundle: a classic script from this origin, which sets window.mpegts. */
function loadMpegts() {
  mpegtsLoaded ||= new Promise((resolve, reject) => {
    const script = h('script', { src: '/static/vendor/mpegts.js' });
    script.addEventListener('load', () => resolve(window.mpegts));
    script.addEventListener('error', () => {
      mpegtsLoaded = null;
      reject(new Error('the MPEG-TS player could not be loaded'));
    });
    document.head.append(script);
  });
  return mpegtsLoaded;
}

/** Attach url to video with the engine that fits; resolves to { engine, destroy }. */
async function attach(video, url, type, live, onFatal) {
  const nativeHls = video.canPlayType('application/vnd.apple.mpegurl');
  const mse = 'MediaSource' in window || 'ManagedMediaSource' in window;
  const kind = type || (live ? 'mpegts' : 'file');
  if (kind === 'hls' && mse) {
    const Hls = await loadHls();
    if (Hls.isSupported()) {
      const hls = new Hls({ workerPath: '/static/vendor/hls.worker.js', lowLatencyMode: false });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) onFatal({ engine: 'hls.js', status: data.response && data.response.code, detail: data.details });
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      return { engine: 'hls.js', destroy: () => hls.destroy() };
    }
  }
  if (kind === 'mpegts' && mse) {
    const mpegts = await loadMpegts();
    if (mpegts && mpegts.isSupported()) {
      const player = mpegts.createPlayer({ type: 'mpegts', isLive: live, url }, { enableWorker: false, lazyLoad: !live });
      player.on(mpegts.Events.ERROR, (type, detail, info) => {
        onFatal({ engine: 'mpegts.js', status: info && info.code, detail: `${type}: ${detail}` });
      });
      player.attachMediaElement(video);
      player.load();
      return {
        engine: 'mpegts.js',
        destroy: () => {
          player.pause();
          player.unload();
          player.detachMediaElement();
          player.destroy();
        },
      };
    }
  }
  if (kind === 'hls' && !nativeHls) throw new Error('unsupported');
  video.src = url;
  return {
    engine: 'native',
    destroy: () => {
      video.removeAttribute('src');
      video.load();
    },
  };
}

/** What went wrong, in words, with what to do. Asks the play endpoint itself for its answer. */
export async function explain(url, failure) {
  if (!navigator.onLine) return 'You are offline. Reconnect, then press Retry.';
  if (failure === 'unsupported') {
    return 'This browser cannot play this kind of stream. Use “Open in app” to watch it in a player such as VLC.';
  }
  let response;
  try {
    response = await fetch(url, { redirect: 'manual', cache: 'no-store' });
  } catch {
    return 'The server cannot be reached. Check the connection, then press Retry.';
  }
  if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
    return 'The provider did not deliver a stream this browser can play: it may have refused the connection, or the format is not supported here. Press Retry, or use “Open in app”.';
  }
  let code = '';
  let message = '';
  try {
    const body = await response.json();
    code = (body.error && body.error.code) || '';
    message = (body.error && body.error.message) || '';
  } catch {
    // not JSON
  }
  return wordsFor(response.status, code, message);
}

export function wordsFor(status, code, message) {
  if (status === 401 || status === 403 || code === 'forbidden' || code === 'unauthorized') {
    return 'Not allowed to play this (403): the link has expired or this account may not use this provider. Reload the page; if it happens again, enter the token again under Providers.';
  }
  if (status === 429 || /connection|busy|capacity|limit/i.test(code) || /connection/i.test(message)) {
    return 'No free connection: every connection the provider account allows is in use. Stop another stream on this account, then press Retry.';
  }
  if (status === 404 || code === 'not_found') {
    return 'This is no longer in the catalogue. Sync the provider again.';
  }
  if (code === 'provider_unreachable' || code === 'provider_timeout') {
    return 'The provider cannot be reached right now. Press Retry in a minute.';
  }
  if (code === 'provider_auth_failed' || code === 'provider_account_expired' || code === 'provider_banned') {
    return `The provider refused the account (${code.replace('provider_', '').replace('_', ' ')}). Check the account under Providers.`;
  }
  return `The stream could not be started (${code || `HTTP ${status}`}${message ? `: ${message}` : ''}). Press Retry.`;
}

export class Player {
  constructor(app) {
    this.app = app;
    this.session = null;
    this.token = 0;
    this.video = h('video', { class: 'player-video', controls: true, playsinline: true, preload: 'auto' });
    this.title = h('h2', { id: 'player-title' });
    this.sub = h('p', { class: 'player-sub' });
    this.status = h('p', { class: 'player-status', role: 'status' });
    this.error = h('div', { class: 'player-error', role: 'alert', hidden: true });
    this.closeButton = h('button', { type: 'button', class: 'icon-button close', 'aria-label': 'Close player' }, '✕');
    this.prev = h('button', { type: 'button', class: 'secondary', 'aria-label': 'Channel down' }, '▼ Ch');
    this.next = h('button', { type: 'button', class: 'secondary', 'aria-label': 'Channel up' }, '▲ Ch');
    this.liveBar = h('div', { class: 'player-live', hidden: true }, this.prev, this.next);
    this.dialog = h('dialog', { id: 'player', class: 'player', 'aria-labelledby': 'player-title' },
      h('div', { class: 'player-bar' }, h('div', { class: 'player-heading' }, this.title, this.sub), this.liveBar, this.closeButton),
      this.stage = h('div', { class: 'player-stage', tabindex: '-1' }, this.video, this.error),
      this.status,
      h('p', { class: 'player-keys' }, 'Keys: Space play/pause · ← → 10 s · ↑ ↓ volume (channel in live) · F full screen · M mute'));
    document.body.append(this.dialog);
    this.closeButton.addEventListener('click', () => this.close());
    this.prev.addEventListener('click', () => this.zap(-1));
    this.next.addEventListener('click', () => this.zap(1));
    this.dialog.addEventListener('close', () => this.stop());
    this.dialog.addEventListener('keydown', (event) => this.onKey(event));
    this.video.addEventListener('playing', () => this.setStatus(''));
    this.video.addEventListener('waiting', () => this.setStatus('Buffering…'));
    this.video.addEventListener('pause', () => this.saveResume());
    this.video.addEventListener('error', () => this.fail());
    window.addEventListener('pagehide', () => this.saveResume(true));
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * Play { providerId, kind: channel|movie|episode, item: {id, name, ...}, subtitle,
   * neighbours: (item, step) => item|null, startAt (seconds, or undefined to resume) }.
   */
  async open(request) {
    const token = ++this.token;
    this.stop();
    this.session = { ...request, engine: null, lastSave: 0 };
    const { kind, item } = request;
    this.title.textContent = item.name || '';
    this.sub.textContent = request.subtitle || '';
    this.liveBar.hidden = kind !== 'channel' || !request.neighbours;
    this.error.hidden = true;
    this.setStatus('Starting…');
    if (!this.dialog.open) this.dialog.showModal();
    this.stage.focus();
    let link;
    try {
      const catchup = request.catchup;
      const query = catchup
        ? `?start=${Math.floor(Date.parse(catchup.start) / 1000)}&duration=${Math.max(60, Math.round((Date.parse(catchup.stop) - Date.parse(catchup.start)) / 1000))}`
        : '';
      link = await api(paths.playLink(request.providerId, kind, item.id) + query);
    } catch (err) {
      if (token === this.token) this.showError(err instanceof ApiError ? wordsFor(err.status, err.code, err.message) : String(err));
      return;
    }
    if (token !== this.token) return;
    this.session.url = link.url;
    let startAt = request.startAt;
    if (startAt === undefined && kind !== 'channel') {
      startAt = await this.app.library.resumeOf(request.providerId, kind, item.id);
    }
    if (token !== this.token) return;
    if (startAt && startAt >= RESUME_MIN_S) {
      this.video.addEventListener('loadedmetadata', () => {
        if (token === this.token) this.video.currentTime = startAt;
      }, { once: true });
    }
    try {
      this.session.engine = await attach(this.video, link.url, link.type, kind === 'channel' && !request.catchup,
        (info) => { if (token === this.token) this.fail(info); });
    } catch (err) {
      if (token === this.token) this.showError(await explain(link.url, err && err.message));
      return;
    }
    if (token !== this.token) {
      this.session && this.session.engine && this.session.engine.destroy();
      return;
    }
    this.dialog.dataset.engine = this.session.engine.engine;
    this.video.play().catch(() => {
      // Autoplay refused (no user gesture): the controls are there.
      this.setStatus('Press Space or ▶ to start.');
    });
    this.session.timer = setInterval(() => this.saveResume(), SAVE_EVERY_MS);
  }

  async fail(info) {
    const session = this.session;
    if (!session || !session.url || session.failed) return;
    session.failed = true;
    const token = this.token;
    const words = await explain(session.url, info && info.status === 403 ? null : undefined);
    if (token === this.token) this.showError(words);
  }

  showError(words) {
    this.setStatus('');
    const retry = h('button', { type: 'button', class: 'primary' }, 'Retry');
    retry.addEventListener('click', () => this.session && this.open({ ...this.session, engine: undefined }));
    this.error.replaceChildren(h('p', {}, words), retry);
    this.error.hidden = false;
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  /** Store the position of a movie or an episode (not a channel) for "continue watching". */
  saveResume(final = false) {
    const s = this.session;
    if (!s || s.kind === 'channel' || !s.engine) return;
    const position = this.video.currentTime;
    if (!Number.isFinite(position) || position < RESUME_MIN_S) return;
    const duration = Number.isFinite(this.video.duration) ? this.video.duration : undefined;
    if (!final && Math.abs(position - (s.savedAt ?? -1)) < 1) return;
    s.savedAt = position;
    this.app.library.saveResume(s.providerId, s.kind, s.item, position, duration, final);
  }

  stop() {
    const s = this.session;
    if (!s) return;
    this.saveResume(true);
    clearInterval(s.timer);
    if (s.engine) s.engine.destroy();
    this.session = null;
    this.video.pause();
    this.video.removeAttribute('src');
    delete this.dialog.dataset.engine;
  }

  close() {
    this.token++;
    if (this.dialog.open) this.dialog.close();
    this.stop();
  }

  zap(step) {
    const s = this.session;
    if (!s || s.kind !== 'channel' || !s.neighbours) return;
    const next = s.neighbours(s.item, step);
    if (next) this.open({ ...s, item: next, catchup: null, subtitle: next.number != null ? `Channel ${next.number}` : '' });
  }

  onKey(event) {
    if (event.target instanceof HTMLButtonElement && (event.key === ' ' || event.key === 'Enter')) return;
    // The focused video's own controls toggle on Space (on keypress, whatever keydown did).
    if (event.target === this.video && event.key === ' ') return;
    const v = this.video;
    const live = this.session && this.session.kind === 'channel';
    let handled = true;
    switch (event.key) {
      case ' ':
      case 'k':
        if (v.paused) v.play().catch(() => {});
        else v.pause();
        break;
      case 'ArrowLeft':
        if (!live) v.currentTime = Math.max(0, v.currentTime - SEEK_STEP_S);
        break;
      case 'ArrowRight':
        if (!live) v.currentTime = Math.min(v.duration || Infinity, v.currentTime + SEEK_STEP_S);
        break;
      case 'ArrowUp':
        if (live) this.zap(1);
        else v.volume = Math.min(1, v.volume + 0.1);
        break;
      case 'ArrowDown':
        if (live) this.zap(-1);
        else v.volume = Math.max(0, v.volume - 0.1);
        break;
      case 'PageUp':
      case 'ChannelUp':
        this.zap(1);
        break;
      case 'PageDown':
      case 'ChannelDown':
        this.zap(-1);
        break;
      case 'f':
        if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
        else this.stage.requestFullscreen().catch(() => {});
        break;
      case 'm':
        v.muted = !v.muted;
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  }
}
