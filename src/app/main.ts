/** The page: a URL field, the video, its transfer line, stats on demand, errors in a banner. */
import { Connection } from '../client/connection.js';
import type { EarlyStart } from '../client/early-start.js';
import { FerryError } from '../protocol/codes.js';
import type { EngineStats } from '../player/engine.js';
import { DEFAULT_PLAYER_OPTIONS, Player } from '../player/player.js';
import { markStart } from '../client/start-marks.js';
import { describeError } from '../ui/messages.js';
import { AudioMenu } from './audio-menu.js';
import { Captions } from './captions.js';
import { setUpControls } from './controls.js';
import { downloadLine, startDownload, type DownloadRow } from './downloads.js';
import { listenForKeys } from './keys.js';
import { setUpMediaSession } from './media-session.js';
import { PositionMemory } from './resume.js';
import { setUpTimeline } from './timeline.js';

markStart('script');
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const video = $<HTMLVideoElement>('video');
const urlInput = $<HTMLInputElement>('url');
const banner = $<HTMLDivElement>('error');
const notice = $<HTMLDivElement>('notice');
const transfers = $<HTMLUListElement>('transfers');
const statsPanel = $<HTMLDetailsElement>('stats-panel');
const statsText = $<HTMLPreElement>('stats');
const authForm = $<HTMLFormElement>('auth-form');

const params = new URLSearchParams(location.search);
const relayUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const options = { ...DEFAULT_PLAYER_OPTIONS, goals: { ...DEFAULT_PLAYER_OPTIONS.goals } };
if (params.has('threshold')) options.mseThreshold = Number(params.get('threshold'));

let connection: Connection;
let player: Player;
useRelay(sessionStorage.getItem('ferry-password') ?? undefined);
const audioMenu = new AudioMenu($<HTMLSelectElement>('audio'), (id) => player.chooseAudio(id));
const captions = new Captions(video, $<HTMLSelectElement>('captions'), () => connection);
listenForKeys(video, { toggleHelp: setUpControls(video, $('controls'), $<HTMLDialogElement>('keys-help')), toggleCaptions: () => captions.toggle() });
const mediaSession = setUpMediaSession(video);
setUpTimeline(video, $<HTMLInputElement>('timeline'), $('preview'), (time, width, signal) => player.preview(time, width, signal));
const positions = new PositionMemory(video, $('resume'), () => player.version());

/** A connection with these credentials, and a player on it. */
function useRelay(password: string | undefined): void {
  connection = connect(password);
  player = new Player(video, connection, options);
  // A refused password is the password form's business (see connect), not the player's.
  player.onError = (message, err) => void (err && AUTH_CODES.has(err.code) ? undefined : showError(message, err));
  player.onNotice = (text) => {
    notice.hidden = text === null;
    notice.textContent = text ?? '';
  };
}

/** The socket index.html opened (and perhaps its first request), while it is still of use; once. */
function takeEarly(): EarlyStart | undefined {
  const w = window as { ferryEarly?: EarlyStart };
  const early = w.ferryEarly;
  w.ferryEarly = undefined;
  return early && early.socket.readyState <= WebSocket.OPEN ? early : undefined;
}

function connect(password?: string): Connection {
  const c = new Connection({
    relay: relayUrl,
    early: takeEarly(),
    ...(password && { password }),
    // Signed in once, this browser skips the password (and any throttle on it) until the password changes.
    deviceKey: localStorage.getItem('ferry-device-key') ?? undefined,
    onDeviceKey: (key) => localStorage.setItem('ferry-device-key', key),
  });
  c.whenReady().catch((err: FerryError) => {
    if (err.code === 'auth_required' || err.code === 'auth_refused') {
      authForm.hidden = false;
      showError(err.code === 'auth_refused' ? 'wrong password' : null);
      $<HTMLInputElement>('password').focus();
    } else {
      showError(err.message);
    }
  });
  return c;
}

const AUTH_CODES = new Set(['auth_required', 'auth_refused']);

/** Errors after which the file may still be saved, though not played here. */
const SAVEABLE = new Set(['unsupported_codec', 'not_media', 'no_index']);

function showError(message: string | null, err: FerryError | null = null): void {
  banner.hidden = message === null;
  banner.textContent = message ?? '';
  if (message && err && SAVEABLE.has(err.code) && urlInput.value) {
    const offer = document.createElement('button');
    offer.type = 'button';
    offer.textContent = 'Download instead';
    const url = urlInput.value;
    offer.addEventListener('click', () => download(url));
    banner.append(' ', offer);
  }
}

authForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const password = $<HTMLInputElement>('password').value;
  sessionStorage.setItem('ferry-password', password);
  authForm.hidden = true;
  player.stop();
  connection.close();
  useRelay(password);
  if (urlInput.value) void start(urlInput.value, false);
});

function addSubtitles(url: string): void {
  captions.add(url).catch((err: unknown) => showError(`the subtitles could not be added: ${err instanceof FerryError ? describeError(err) : String(err)}`));
}

$<HTMLFormElement>('subs-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  addSubtitles($<HTMLInputElement>('subs').value);
});

$<HTMLFormElement>('open-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void start(urlInput.value, true);
});

const downloads = new Map<DownloadRow, HTMLLIElement>();

function showDownload(row: DownloadRow): void {
  let li = downloads.get(row);
  if (!li) {
    li = document.createElement('li');
    li.dataset.kind = 'download';
    li.innerHTML = '<progress max="1"></progress><div class="line"></div><button type="button">Cancel</button>';
    li.querySelector('button')!.addEventListener('click', () => row.cancel());
    downloads.set(row, li);
    transfers.append(li);
  }
  const bar = li.querySelector('progress')!;
  if (row.total) bar.value = row.received / row.total;
  li.querySelector('.line')!.textContent = downloadLine(row);
  li.querySelector('button')!.hidden = row.state !== 'saving' && row.state !== 'starting' && row.state !== 'stopped';
  if (row.state === 'failed') showError(row.error);
}

function download(url: string): void {
  let shown = 0;
  startDownload(connection, url, (row) => {
    // Progress comes a few times a second per download; the list needs no more.
    const now = performance.now();
    if (row.state === 'saving' && now - shown < 200) return;
    shown = now;
    showDownload(row);
  });
}

$<HTMLButtonElement>('download').addEventListener('click', () => {
  if (urlInput.reportValidity()) download(urlInput.value);
});

async function start(url: string, userGesture: boolean): Promise<void> {
  const shown = new URL(location.href);
  shown.searchParams.set('url', url);
  history.replaceState(null, '', shown);
  if (!userGesture) video.muted = true; // browsers allow autoplay only without sound
  positions.start(url);
  captions.start(url);
  mediaSession.title(url);
  // Not waiting for the relay's welcome: the request goes out right behind the hello.
  await player.play(url);
  // A deep link's time (&t=SECONDS) is where this first playback starts.
  const t = Number(params.get('t'));
  if (t > 0 && url === params.get('url')) video.currentTime = t;
  const subs = params.get('subs');
  if (subs && url === params.get('url')) addSubtitles(subs);
  if (!player.stats().error) void video.play().catch(() => {});
}

const MB = 1024 * 1024;
export function transferLine(s: EngineStats): string {
  const parts = [
    s.totalBytes ? `${((100 * s.bytesReceived) / s.totalBytes).toFixed(2)}% of ${(s.totalBytes / MB).toFixed(0)} MB` : `${(s.bytesReceived / MB).toFixed(1)} MB`,
    `queue ${s.queueDepth}`,
    `${Math.round(s.bufferedAhead)} s buffered`,
    `${(s.speed / MB).toFixed(0)} MB/s`,
  ];
  return parts.join(' · ');
}

function render(): void {
  const s = player.stats();
  audioMenu.update(player.audioTracks());
  let li = transfers.querySelector<HTMLLIElement>('li[data-kind="play"]');
  if (s.state === 'idle') {
    li?.remove();
  } else {
    if (!li) {
      li = document.createElement('li');
      li.dataset.kind = 'play';
      li.innerHTML = '<progress max="1"></progress><div class="line"></div>';
      transfers.prepend(li);
    }
    const bar = li.querySelector('progress')!;
    // For playback, the bar shows how far into the file the bytes have come.
    if (s.totalBytes) bar.value = Math.min(1, s.bytesReceived / s.totalBytes);
    else bar.removeAttribute('value');
    li.querySelector('.line')!.textContent = `Playing: ${transferLine(s)}`;
  }
  if (statsPanel.open) statsText.textContent = JSON.stringify({ ...s, reconnects: connection.reconnects }, null, 2);
}
setInterval(render, 250);

declare global {
  interface Window {
    ferry: { stats: () => EngineStats; player: () => Player; play: (url: string) => Promise<void>; download: (url: string) => void };
  }
}
window.ferry = { stats: () => player.stats(), player: () => player, play: (url) => start(url, false), download };

async function boot(): Promise<void> {
  // Earlier versions saved downloads through a service worker; it would still answer for this page. Not
  // awaited: playback must not wait for it.
  void navigator.serviceWorker?.getRegistrations().then((all) => all.forEach((r) => void r.unregister()), () => {});
  const deepLink = params.get('url');
  if (deepLink) {
    urlInput.value = deepLink;
    if (params.get('autoplay') === '1') await start(deepLink, false);
    return;
  }
  const config = (await fetch('/config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}))) as { demoUrl?: string };
  if (config.demoUrl) {
    urlInput.value = config.demoUrl;
    await start(config.demoUrl, false);
  }
}
void boot();
