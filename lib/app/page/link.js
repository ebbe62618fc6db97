// The WebSocket to the server (docs/protocol.md): opens it, says hello, hands
// each message on, and opens it again with a growing wait when it drops.

/** Waits before reconnecting, growing while the server stays unreachable. */
const RETRY_MS = [250, 1000, 2000, 4000, 8000, 15000];

export class ServerLink {
  /** 'connecting' | 'online' | 'lost' | 'unreachable' | 'stopped' */
  state = 'connecting';
  /** The server answered this connection's hello. */
  greeted = false;
  /** When the next try starts (while 'unreachable'). */
  retryAt = 0;
  #ws = null;
  #retries = 0;
  #timer = 0;
  #again = false;
  #options;

  /**
   * `hello()`: the hello to send on each new connection; `onMessage(m)`: a
   * parsed server message; `onClose(code)`: the connection closed;
   * `onChange()`: the state changed.
   */
  constructor(options) {
    this.#options = options;
  }

  connect() {
    clearTimeout(this.#timer);
    const ws = new WebSocket(this.#options.url);
    this.#ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      ws.send(JSON.stringify(this.#options.hello()));
    });
    ws.addEventListener('message', (event) => {
      if (this.#ws !== ws || typeof event.data !== 'string') return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.#options.onMessage(message);
    });
    ws.addEventListener('close', (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.greeted = false;
      this.#options.onClose(event.code);
      if (this.state === 'stopped') return this.#options.onChange();
      if (this.#again) {
        // The session ended (or another tab's is to be taken up): a new connection at once.
        this.#again = false;
        this.state = 'connecting';
        this.connect();
        return this.#options.onChange();
      }
      if (opened && this.state === 'online') this.#retries = 0;
      this.#retry(opened);
    });
  }

  #retry(wasOpen) {
    const delay = RETRY_MS[Math.min(this.#retries, RETRY_MS.length - 1)];
    this.#retries++;
    this.state = wasOpen && this.#retries === 1 ? 'lost' : 'unreachable';
    this.retryAt = Date.now() + delay;
    this.#timer = setTimeout(() => this.connect(), delay);
    this.#options.onChange();
  }

  /** The server answered hello: requests may go. */
  welcomed() {
    this.greeted = true;
    this.state = 'online';
    this.#retries = 0;
  }

  get online() {
    return this.state === 'online' && this.greeted;
  }

  /** Sends `message` if the connection is greeted; false if it could not. */
  send(message) {
    if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN || !this.greeted) return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  /** When this connection closes, open a new one at once (the session ended). */
  againOnClose() {
    this.#again = true;
  }

  /** Closes this connection and opens a new one now (a hello that resumes another session). */
  reopen() {
    if (!this.#ws) return this.connect();
    this.#again = true;
    this.#ws.close();
  }

  /** No more reconnecting after this connection closes (another tab took the session over). */
  stop() {
    this.state = 'stopped';
  }

  /** Starts again after stop(). */
  restart() {
    this.state = 'connecting';
    this.#retries = 0;
    this.connect();
    this.#options.onChange();
  }
}
