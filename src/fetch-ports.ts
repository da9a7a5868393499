/**
 * The ports fetch refuses to connect to: the Fetch standard's "bad ports" (SMTP, IRC, X11,
 * SIP, …), which Node's fetch (undici) blocks with "fetch failed (bad port)". A webhook or
 * an exporter's URL on one of them was accepted and then failed every delivery; it is refused
 * where it is given instead. The list is Node 20's undici's, port for port (82 ports).
 */
const REFUSED = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531,
  532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** The port of an http(s) URL that fetch refuses, or undefined (a URL's default port is never one). */
export function refusedPort(url: string): number | undefined {
  let port: string;
  try {
    port = new URL(url).port;
  } catch {
    return undefined;
  }
  return port !== '' && REFUSED.has(Number(port)) ? Number(port) : undefined;
}
