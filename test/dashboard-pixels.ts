/// <reference lib="dom" />
/**
 * Canvas pixels of a dashboard chart in one series' colour (dashboard/js/chart.js, PALETTE),
 * blended with the background or not: pixels whose `main` channel is above each of the others
 * by its margin. The grid and axes are grey, so they count in no colour.
 */
import type { Page } from 'playwright-core';

/** A colour by its dominant channel (0 red, 1 green, 2 blue) and how far it stands above each other channel. */
export interface Dominant {
  main: 0 | 1 | 2;
  over: [channel: 0 | 1 | 2, margin: number][];
}

/** PALETTE[0], #2f7ed8: blue well above red and green. */
export const FIRST_SERIES: Dominant = { main: 2, over: [[0, 40], [1, 20]] };
/** PALETTE[1], #e4572e: red well above green and blue. */
export const SECOND_SERIES: Dominant = { main: 0, over: [[1, 60], [2, 80]] };

export function chartPixels(page: Page, chartId: string, colour: Dominant): Promise<number> {
  return page.evaluate(
    ({ id, c }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`[data-chart="${id}"] canvas`);
      if (!canvas) return 0;
      const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 3]! > 0 && c.over.every(([ch, margin]) => px[i + c.main]! - px[i + ch]! > margin)) n++;
      return n;
    },
    { id: chartId, c: colour },
  );
}
