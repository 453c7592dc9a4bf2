/** What an admin's connection may ask of the relay: every live stream and download, and cancelling any. */
import type { KillMessage, ListMessage, TransfersMessage } from '../protocol/frames.js';

export class RelayAdmin {
  private readonly waiters: ((answer: TransfersMessage) => void)[] = [];

  constructor(
    private readonly send: (message: ListMessage | KillMessage) => void,
    /** Settles once the relay has judged the credentials. */
    private readonly ready: Promise<void>,
  ) {}

  /** Every live stream on the relay, and every download it is sending over HTTP. */
  async list(): Promise<Pick<TransfersMessage, 'list' | 'downloads'>> {
    await this.ready;
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.send({ t: 'list' });
    });
  }

  /** Cancels any stream on the relay. */
  kill(session: string, id: number): void {
    this.send({ t: 'kill', session, id });
  }

  /** Cancels a download, by the id `list` gives it. */
  killDownload(download: string): void {
    this.send({ t: 'kill', download });
  }

  /** The relay's answer to the oldest list. */
  onTransfers(answer: TransfersMessage): void {
    this.waiters.shift()?.(answer);
  }
}
