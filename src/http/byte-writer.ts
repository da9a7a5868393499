/**
 * An output buffer that the exposition writes into byte by byte: cached label bytes are
 * copied, integers are written as digits in place, so that a 10,000-series scrape builds
 * no string and encodes nothing but numbers that are not integers. The buffer is kept and
 * grown between renders; take() copies out what one render wrote.
 *
 * `cap`: the most the buffer grows to by doubling (the exposition's byte bound). The writer
 * itself never refuses a write: its caller checks `length` against the bound before it writes,
 * so the buffer never grows past what one bounded render needs.
 */
const encoder = new TextEncoder();

export class ByteWriter {
  private buf: Uint8Array;
  private at = 0;
  private readonly cap: number;

  constructor(cap = Number.MAX_SAFE_INTEGER) {
    this.cap = cap;
    this.buf = new Uint8Array(Math.min(1 << 20, cap));
  }

  /** Bytes written since reset(). */
  get length(): number {
    return this.at;
  }

  reset(): void {
    this.at = 0;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.at);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.room(s.length * 3);
    this.at += encoder.encodeInto(s, this.buf.subarray(this.at)).written;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.at++] = c;
  }

  /**
   * A whole sample line: its name and labels, the value, a newline. One bounds check instead
   * of three: a gauge's or counter's line is most of what a render of them does.
   */
  line(prefix: Uint8Array, v: number): void {
    // The longest number is 24 characters (-1.2345678901234567e-308).
    this.room(prefix.length + 25);
    const buf = this.buf;
    buf.set(prefix, this.at);
    let at = this.at + prefix.length;
    if (Number.isSafeInteger(v) && v >= 0) {
      this.at = at;
      this.uint(v);
      at = this.at;
    } else {
      const s = v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
      for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    }
    buf[at++] = 10;
    this.at = at;
  }

  /** A sample value as both formats spell it (text-format.ts's formatNumber, without a string for integers). */
  number(v: number): void {
    if (Number.isSafeInteger(v) && v >= 0) return this.uint(v);
    if (Number.isNaN(v)) return this.ascii('NaN');
    if (v === Infinity) return this.ascii('+Inf');
    if (v === -Infinity) return this.ascii('-Inf');
    this.ascii(String(v));
  }

  private uint(v: number): void {
    this.room(16);
    if (v < 10) {
      this.buf[this.at++] = 48 + v;
      return;
    }
    let digits = 0;
    for (let x = v; x >= 1; x = Math.floor(x / 10)) digits++;
    let end = this.at + digits;
    this.at = end;
    for (let x = v; x >= 1; x = Math.floor(x / 10)) this.buf[--end] = 48 + (x % 10);
  }

  private ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.at++] = s.charCodeAt(i);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(Math.min(this.buf.length * 2, this.cap), this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}
