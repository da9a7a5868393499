/**
 * bench:http's scraper, a process of its own as Prometheus is: GET the URL it is given once
 * a second between 'start' and 'stop', reading every byte.
 */
const url = process.argv[2]!;
let timer: NodeJS.Timeout | undefined;
process.on('message', (m: string) => {
  if (m === 'start' && timer === undefined) {
    timer = setInterval(() => {
      fetch(url, { headers: { accept: 'application/openmetrics-text;version=1.0.0' } })
        .then((r) => r.arrayBuffer())
        .then((b) => process.send!({ bytes: b.byteLength }))
        .catch((error: unknown) => process.stderr.write(`scrape failed: ${String(error)}\n`));
    }, 1000);
  } else if (m === 'stop') {
    clearInterval(timer);
    timer = undefined;
  }
});
process.on('disconnect', () => process.exit(0));
