/**
 * bench:http's scraper, a process of its own as Prometheus is: GET the URL it is given at 'start'
 * and once a second until 'stop', reading every byte.
 */
const url = process.argv[2]!;
let timer: NodeJS.Timeout | undefined;
const scrape = (): void => {
  fetch(url, { headers: { accept: 'application/openmetrics-text;version=1.0.0' } })
    .then((r) => r.arrayBuffer())
    .then((b) => process.send!({ bytes: b.byteLength }))
    .catch((error: unknown) => process.stderr.write(`scrape failed: ${String(error)}\n`));
};
process.on('message', (m: string) => {
  if (m === 'start' && timer === undefined) {
    scrape();
    timer = setInterval(scrape, 1000);
  } else if (m === 'stop') {
    clearInterval(timer);
    timer = undefined;
  }
});
process.on('disconnect', () => process.exit(0));
