/**
 * One WebSocket to a relay carrying many transfers. Reconnects with exponential backoff and full jitter, and
 * re-opens every live transfer from the byte it needs next, so readers never notice a dropped connection.
 * Runs in browsers (global WebSocket) and in Node (pass `createSocket`, see node.ts).
 */
import { FerryError, type ErrorCode } from '../protocol/codes.js';
import { decodeDataFrame, type ClientMessage, type ErrorMessage, type HelloMessage, type WelcomeMessage } from '../protocol/frames.js';
import { parseRelayMessage } from '../protocol/parse.js';
import { PROTOCOL_VERSION } from '../protocol/limits.js';
import { Deadlines } from './deadlines.js';
import { sameRequest, type EarlyStart } from './early-start.js';
import { LinkEstimate } from './link-estimate.js';
import type { SocketFactory, WebSocketLike } from './socket.js';
import { backoffDelay, type ConnectionOptions, type ConnectionState } from './connection-options.js';
import { Download, type DownloadHost } from './download.js';
import { Transfer, type TransferHost, type TransferRequest } from './transfer.js';
import { RelayAdmin } from './relay-admin.js';

export type { ConnectionOptions, ConnectionState } from './connection-options.js';

const FATAL_BEFORE_WELCOME = new Set<ErrorCode>(['auth_required', 'auth_refused', 'auth_throttled', 'protocol_error']);
const OPEN = 1;
/** Longer than the relay's own bounds on reaching an origin (connect 10 s, headers 15 s) for a first answer. */
const DEFAULT_ANSWER_TIMEOUT_MS = 60_000;

/** A request the relay owes a first answer. */
interface Request {
  readonly id: number;
  readonly live: boolean;
  readonly answered: boolean;
  openMessage(): ClientMessage;
  fail(err: FerryError): void;
}

export class Connection {
  state: ConnectionState = 'connecting';
  /** Times the socket was re-established after a drop. */
  reconnects = 0;
  welcome: WelcomeMessage | undefined; // the relay's on this socket: the page's role, the sound it decodes
  private deviceKey: string | undefined;
  private socket: WebSocketLike | undefined;
  private welcomed = false;
  /**
   * Requests go out right behind the hello, in the same flight, without waiting for the welcome (the relay
   * holds them until the handshake is done): one round trip less before the first byte.
   */
  private helloSent = false;
  /** Requests opened on the current socket, so the welcome does not open them twice. */
  private readonly openedHere = new Set<number>();
  private attempts = 0;
  private nextId = 1;
  private readonly transfers = new Map<number, Transfer>();
  /** The early socket's requests, until the page asks for them (or for something else). */
  private early: Transfer[] = [];
  /** The link to the relay as measured, for credit windows that fill it without queueing in it. */
  readonly link = new LinkEstimate();
  private readonly downloads = new Map<number, Download>();
  private readonly downloadHost: DownloadHost = { send: (m) => this.sendControl(m), forget: (d) => this.forget(d.id) };
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly deadlines = new Deadlines();
  private fatal: FerryError | undefined;
  private readonly host: TransferHost;
  private readonly createSocket: SocketFactory;
  private readonly ready: Promise<void>;
  /** An admin's requests (list, kill), for a connection signed in as admin. */
  readonly admin: RelayAdmin;
  private resolveReady!: () => void;
  private rejectReady!: (e: FerryError) => void;

  constructor(private readonly options: ConnectionOptions) {
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
    this.deviceKey = options.deviceKey;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.admin = new RelayAdmin((m) => this.sendControl(m), this.ready);
    this.host = {
      send: (m) => this.sendControl(m),
      link: this.link,
      retryLater: (t, attempt) => void setTimeout(() => t.live && this.welcomed && this.sendOpen(t, true), backoffDelay(this.options, attempt)),
      forget: (t) => this.forget(t.id),
      opened: (t) => void (this.transfers.set(t.id, t), this.openedHere.add(t.id)),
    };
    this.connect();
  }

  /** Takes over the page's early socket: what it received, and its first request as a transfer. */
  private adopt({ sent, received }: EarlyStart): void {
    this.helloSent ||= sent.length > 0;
    for (const { id, credit, media, ...request } of sent) {
      const transfer = new Transfer(id, { ...request, window: credit, ...(media && { mediaWindow: media.credit }) }, this.host, media?.id);
      this.nextId = Math.max(this.nextId, id + 1, (media?.id ?? 0) + 1);
      this.transfers.set(id, transfer);
      this.openedHere.add(id);
      this.early.push(transfer);
    }
    for (const message of received) this.onMessage(message);
  }

  /** Resolves once the relay accepted the credentials; rejects on a refusal. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  open(request: TransferRequest): Transfer {
    const early = this.early.findIndex((t) => sameRequest(t.request, request));
    if (early >= 0) return this.early.splice(early, 1)[0]!;
    // Asked for something else: the early requests are not wanted.
    for (const t of this.early.splice(0)) t.cancel();
    const transfer = new Transfer(this.nextId++, request, this.host, request.mediaWindow ? this.nextId++ : undefined);
    if (this.fatal) {
      transfer.fail(this.fatal);
      return transfer;
    }
    this.transfers.set(transfer.id, transfer);
    if (this.helloSent) this.sendOpen(transfer);
    return transfer;
  }

  /**
   * A download for the browser's download manager (or any HTTP client), or with `play` a file for the page's
   * media element: resolves the relay's ticket, then reports progress. Ids come from the same counter as transfers, so replies never mix them up.
   */
  download(url: string, play: { type: string | null } | null = null): Download {
    const download = new Download(this.nextId++, url, this.downloadHost, play);
    if (this.fatal) {
      queueMicrotask(() => download.fail(this.fatal!));
      return download;
    }
    this.downloads.set(download.id, download);
    if (this.helloSent) this.sendOpen(download);
    return download;
  }

  close(): void {
    this.setState('closed');
    clearTimeout(this.reconnectTimer);
    this.deadlines.clearAll();
    for (const t of [...this.transfers.values()]) t.cancel();
    this.downloads.clear();
    this.socket?.close(1000, 'client closed');
  }

  private connect(): void {
    const { early } = this.options;
    this.options.early = undefined;
    const socket = early?.socket ?? this.createSocket(this.options.relay);
    this.socket = socket;
    this.welcomed = false;
    this.helloSent = false;
    this.openedHere.clear();
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      const hello: HelloMessage = { t: 'hello', v: PROTOCOL_VERSION, password: this.options.password, admin: this.options.admin, key: this.deviceKey };
      socket.send(JSON.stringify(hello));
      this.helloSent = true;
      this.openAll();
    };
    // A socket the page opened before this script ran may be open already, its hello sent or not.
    if (socket.readyState === OPEN && !early?.sent.length) queueMicrotask(() => socket.onopen?.({}));
    socket.onmessage = (ev) => this.onMessage(ev.data);
    if (early) this.adopt(early);
    socket.onerror = () => {};
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.welcomed = false;
      this.helloSent = false;
      if (this.state === 'closed') return;
      if (this.fatal) return this.failAll(this.fatal);
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    const max = this.options.maxAttempts ?? Infinity;
    if (this.attempts >= max) {
      const err = new FerryError('relay_unreachable', `the relay could not be reached after ${this.attempts} attempts`);
      this.fatal = err;
      this.rejectReady(err);
      return this.failAll(err);
    }
    this.setState('reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), backoffDelay(this.options, this.attempts++));
  }

  private onMessage(data: unknown): void {
    if (typeof data !== 'string') return this.onData(data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array));
    const m = parseRelayMessage(data);
    if ((m.t === 'meta' || m.t === 'ticket' || m.t === 'error') && m.id !== undefined) this.deadlines.clear(m.id);
    switch (m.t) {
      case 'welcome':
        return this.onWelcome(m);
      case 'ticket':
        return this.downloads.get(m.id)?.onTicket(m);
      case 'progress':
        return this.downloads.get(m.id)?.onProgress(m);
      case 'meta':
        return this.transfers.get(m.id)?.onMeta(m);
      case 'end':
        return this.transfers.get(m.id)?.onEnd(m.offset);
      case 'transfers':
        return this.admin.onTransfers(m);
      case 'error':
        return this.onError(m);
      case 'mark':
        return this.sendControl({ t: 'marked', n: m.n });
    }
  }

  /** A transfer or download that is over: nothing more is owed to it. */
  private forget(id: number): void {
    this.transfers.delete(id);
    this.downloads.delete(id);
    this.openedHere.delete(id);
    this.deadlines.clear(id);
  }

  private onData(bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeDataFrame(bytes);
    } catch {
      return;
    }
    this.link.delivered(frame.payload.byteLength);
    this.transfers.get(frame.id)?.onData(frame.offset, frame.payload);
  }

  private onWelcome(m: WelcomeMessage): void {
    if (m.rtt !== undefined) this.link.roundTrip(m.rtt);
    this.welcomed = true;
    this.welcome = m;
    if (m.key && m.key !== this.deviceKey) {
      this.deviceKey = m.key;
      this.options.onDeviceKey?.(m.key);
    }
    if (this.state === 'reconnecting') this.reconnects++;
    this.attempts = 0;
    this.setState('open');
    this.resolveReady();
    this.openAll();
  }

  /** Opens every live request not yet opened on this socket. */
  private openAll(): void {
    for (const r of [...this.transfers.values(), ...this.downloads.values()]) if (!this.openedHere.has(r.id)) this.sendOpen(r);
  }

  private onError(m: ErrorMessage): void {
    const err = new FerryError(m.code, m.message, m.status);
    if (m.id !== undefined) {
      this.transfers.get(m.id)?.onError(err);
      this.downloads.get(m.id)?.fail(err);
      return;
    }
    if (!this.welcomed && FATAL_BEFORE_WELCOME.has(m.code)) {
      this.fatal = err;
      this.rejectReady(err);
      this.failAll(err);
    }
  }

  /** Sends a request's open message; if the relay gives it no first answer on this socket in time, it fails. */
  private sendOpen(request: Request, again = false): void {
    const socket = this.socket;
    if (this.openedHere.has(request.id) && !again) return;
    this.openedHere.add(request.id);
    this.sendControl(request.openMessage());
    if (request.answered) return;
    const timeoutMs = this.options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
    this.deadlines.set(request.id, timeoutMs, () => {
      if (request.live && !request.answered && this.socket === socket && this.welcomed) {
        this.sendControl({ t: 'cancel', id: request.id });
        request.fail(new FerryError('upstream_timeout', `the relay gave no answer to this request in ${Math.round(timeoutMs / 1000)} s`));
      }
    });
  }

  private failAll(err: FerryError): void {
    this.setState('closed', err);
    for (const request of [...this.transfers.values(), ...this.downloads.values()]) request.fail(err);
  }

  private sendControl(message: ClientMessage): void {
    const socket = this.socket;
    // While disconnected, credits and cancels are moot: the next open message restates the whole state.
    if (socket && socket.readyState === OPEN && (this.helloSent || message.t === 'hello')) {
      socket.send(JSON.stringify(message));
    }
  }

  private setState(state: ConnectionState, detail?: FerryError): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state, detail);
  }
}
