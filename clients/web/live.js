// Live dictation: captures the microphone through an AudioWorklet and streams it over the
// `skriva.v1` WebSocket protocol. Every frame is kept until the server acknowledges it, so a
// dropped connection loses no audio: the page reconnects, resumes from the last event it saw
// and re-sends the frames after the server's `last_frame_seq`.

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 4000;
// How long an audio context may take to start (opening an output device, a headset switching
// profiles) before the page says that it did not.
const AUDIO_START_MS = 10_000;

/** Connection states, as the page shows them. */
export const State = Object.freeze({
  CONNECTING: 'connecting',
  LISTENING: 'listening',
  RECONNECTING: 'reconnecting',
  STOPPING: 'stopping',
  STOPPED: 'stopped',
  FAILED: 'failed',
});

/** Whether `promise` fulfils within `ms`. */
function settlesWithin(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true, () => false), timeout])
    .finally(() => clearTimeout(timer));
}

function frameBytes(seq, pcm) {
  const frame = new Uint8Array(8 + pcm.byteLength);
  new DataView(frame.buffer).setBigUint64(0, BigInt(seq), true);
  frame.set(new Uint8Array(pcm), 8);
  return frame.buffer;
}

export class LiveSession {
  /**
   * @param {object} options
   * @param {string} options.url WebSocket URL of the session's stream
   * @param {string} options.token bearer token
   * @param {(event: object) => void} options.onEvent server events (partial, stable, final, …)
   * @param {(state: string, detail?: string) => void} options.onState connection state
   * @param {(level: number) => void} options.onLevel peak level of the last frame, 0–1
   */
  constructor({ url, token, onEvent, onState, onLevel }) {
    this.url = url;
    this.token = token;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onLevel = onLevel;
    this.ws = null;
    this.ready = false;
    this.lastEventSeq = 0;
    this.nextFrameSeq = 1;
    this.pending = []; // [{seq, data}] sent or not, not yet acknowledged
    this.ackedSeq = 0;
    this.capturedSamples = 0;
    this.sampleRate = 0;
    this.stopping = false;
    this.stopSent = false;
    this.finished = false;
    this.failed = false;
    this.attempt = 0;
    this.holdUntil = 0;
    this.reconnectTimer = null;
    this.audio = null;
  }

  /** Opens the microphone, then the connection. Rejects when the microphone is refused. */
  async start() {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: {
        channelCount: 1,
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      },
    });
    // Run the context at the microphone's rate: Firefox cannot connect a source of another
    // rate, and the server resamples whatever rate it is told.
    const micRate = stream.getAudioTracks()[0]?.getSettings().sampleRate;
    const context = micRate ? new AudioContext({ sampleRate: micRate }) : new AudioContext();
    // Kept from here on so that a failure below still releases the microphone.
    const audio = { stream, context, source: null, node: null, flushed: null };
    this.audio = audio;
    this.sampleRate = context.sampleRate;
    // Started from a click or shortcut, but getUserMedia may have outlived that activation.
    // Firefox also starts every context suspended and resumes it only once it has an audio
    // output: without one it stays suspended for good and the worklet never runs.
    const running = context.state === 'running' ? Promise.resolve() : context.resume();
    await context.audioWorklet.addModule('/assets/capture-worklet.js');
    const started = await settlesWithin(running, AUDIO_START_MS);
    if (this.audio !== audio) {
      // Stopped meanwhile: still connect, so that the server closes the session.
      if (this.stopping && !this.failed) this.connect();
      return;
    }
    if (!started || context.state !== 'running') {
      this.fail('Webbläsarens ljudmotor startade inte, så inget ljud kan spelas in. Kontrollera '
        + 'att datorn har en fungerande ljudenhet (högtalare eller hörlurar) och försök igen.');
      return;
    }
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, 'skriva-pcm-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit',
    });
    audio.source = source;
    audio.node = node;
    node.port.onmessage = (event) => this.onWorkletMessage(event.data);
    source.connect(node);
    this.connect();
  }

  onWorkletMessage(message) {
    if (message.flushed) {
      if (this.audio && this.audio.flushed) this.audio.flushed();
      return;
    }
    if (this.stopping && this.stopSent) return;
    const pcm = message.pcm;
    const seq = this.nextFrameSeq++;
    const frame = { seq, data: frameBytes(seq, pcm) };
    this.capturedSamples += pcm.byteLength / 2;
    this.pending.push(frame);
    if (this.ready && this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame.data);
    if (this.onLevel) this.onLevel(Math.min(1, message.level));
  }

  /** Seconds of audio captured so far. */
  get capturedSeconds() {
    return this.sampleRate ? this.capturedSamples / this.sampleRate : 0;
  }

  /** The highest frame seq captured (what the server should end up with). */
  get lastFrameSeq() {
    return this.nextFrameSeq - 1;
  }

  setState(state, detail) {
    this.state = state;
    if (this.onState) this.onState(state, detail);
  }

  connect() {
    if (this.finished || this.failed) return;
    const wait = this.holdUntil - Date.now();
    if (wait > 0) {
      this.reconnectTimer = setTimeout(() => this.connect(), wait);
      return;
    }
    this.reconnectTimer = null;
    this.ready = false;
    this.stopSent = false;
    this.setState(this.attempt === 0 ? State.CONNECTING : State.RECONNECTING);
    let ws;
    try {
      ws = new WebSocket(this.url, ['skriva.v1', 'bearer.' + this.token]);
    } catch (error) {
      this.fail('Kunde inte ansluta: ' + error.message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      ws.send(JSON.stringify({
        type: 'start',
        sample_rate: this.sampleRate,
        channels: 1,
        encoding: 'pcm_s16le',
        resume_from_event: this.lastEventSeq,
      }));
    };
    ws.onmessage = (message) => {
      if (ws !== this.ws || typeof message.data !== 'string') return;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      this.handle(event);
    };
    ws.onclose = (close) => {
      if (ws !== this.ws) return;
      this.ready = false;
      this.ws = null;
      if (this.finished || this.failed) return;
      if (close.code === 4409) {
        this.fail('Sessionen togs över av en annan flik eller enhet.');
      } else if (close.code === 4400) {
        this.fail('Servern godtog inte ljudformatet: ' + (close.reason || ''));
      } else {
        this.scheduleReconnect();
      }
    };
  }

  scheduleReconnect() {
    this.attempt += 1;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (this.attempt - 1));
    this.setState(State.RECONNECTING, 'försök ' + this.attempt);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  handle(event) {
    if (typeof event.seq === 'number' && event.seq > this.lastEventSeq) this.lastEventSeq = event.seq;
    switch (event.type) {
      case 'ready':
        this.onReady(event);
        break;
      case 'ack':
        this.acknowledge(event.frame_seq);
        break;
      case 'closed':
        this.finished = true;
        this.teardownAudio();
        this.setState(State.STOPPED);
        break;
      case 'error':
        if (event.code === 'not_ready') this.setState(State.RECONNECTING, 'modellen laddas');
        break;
      default:
        break;
    }
    if (this.onEvent) this.onEvent(event);
  }

  onReady(event) {
    this.ready = true;
    this.attempt = 0;
    if (this.finished) return;
    this.acknowledge(event.last_frame_seq || 0);
    for (const frame of this.pending) this.ws.send(frame.data);
    if (this.stopping) {
      this.sendStop();
    } else {
      this.setState(State.LISTENING);
    }
  }

  acknowledge(frameSeq) {
    if (typeof frameSeq !== 'number' || frameSeq <= this.ackedSeq) return;
    this.ackedSeq = frameSeq;
    let drop = 0;
    while (drop < this.pending.length && this.pending[drop].seq <= frameSeq) drop++;
    if (drop > 0) this.pending.splice(0, drop);
  }

  sendStop() {
    if (!this.ready || !this.ws || this.stopSent) return;
    this.ws.send(JSON.stringify({ type: 'stop' }));
    this.stopSent = true;
    this.setState(State.STOPPING);
  }

  /** Stops capturing, sends what is left and asks the server to finish the draft. */
  async stop() {
    if (this.stopping) return;
    if (this.audio && this.audio.node) {
      const flushed = new Promise((resolve) => {
        this.audio.flushed = resolve;
      });
      this.audio.node.port.postMessage('flush');
      await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, 500))]);
    }
    this.stopping = true;
    this.stopCapture();
    this.setState(State.STOPPING);
    this.sendStop();
  }

  stopCapture() {
    if (!this.audio) return;
    const { stream, context, source, node } = this.audio;
    if (source) source.disconnect();
    if (node) node.port.onmessage = null;
    for (const track of stream.getTracks()) track.stop();
    context.close().catch(() => {});
    this.audio = null;
    if (this.onLevel) this.onLevel(0);
  }

  teardownAudio() {
    this.stopCapture();
    clearTimeout(this.reconnectTimer);
  }

  fail(message) {
    this.failed = true;
    this.teardownAudio();
    if (this.ws) this.ws.close();
    this.setState(State.FAILED, message);
  }

  /** Drops the connection as a network failure would, and keeps it down for `holdMs`. */
  dropConnection(holdMs = 0) {
    this.holdUntil = Date.now() + holdMs;
    this.ready = false;
    if (this.ws) this.ws.close(4000, 'dropped by the page');
  }

  /** Frames captured but not yet acknowledged by the server. */
  get unacknowledged() {
    return this.pending.length;
  }
}
