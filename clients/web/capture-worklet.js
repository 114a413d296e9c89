// Audio worklet: turns the microphone's float samples into 100 ms frames of 16-bit
// little-endian mono PCM at the context's own rate (the server resamples), and reports the
// peak level of each frame for the meter.

const FRAME_SECONDS = 0.1;

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frameLength = Math.round(sampleRate * FRAME_SECONDS);
    this.buffer = new Int16Array(this.frameLength);
    this.filled = 0;
    this.peak = 0;
    this.port.onmessage = (event) => {
      if (event.data === 'flush') {
        this.emit();
        this.port.postMessage({ flushed: true });
      }
    };
  }

  emit() {
    if (this.filled === 0) return;
    const pcm = this.buffer.slice(0, this.filled);
    this.port.postMessage({ pcm: pcm.buffer, level: this.peak }, [pcm.buffer]);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const channels = input.length;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      let sample = 0;
      for (let c = 0; c < channels; c++) sample += input[c][i];
      sample /= channels;
      const magnitude = Math.abs(sample);
      if (magnitude > this.peak) this.peak = magnitude;
      const clamped = Math.max(-1, Math.min(1, sample));
      this.buffer[this.filled++] = clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff;
      if (this.filled === this.frameLength) this.emit();
    }
    return true;
  }
}

registerProcessor('skriva-pcm-capture', PcmCapture);
