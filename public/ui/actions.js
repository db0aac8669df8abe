// @ts-check
/**
 * The console's one way to do what cannot be undone (delete, revoke, rotate, remove): ask first,
 * do it, say it is done, redraw.
 */
import { confirmAction, focusView, notify } from "./dom.js";

/**
 * Asks `question`; once confirmed, runs `act`, announces `done` in the live region, calls
 * `reload`, then moves focus to the view: the button that had it goes with the redraw. What
 * `act` throws goes to `failed`, and then nothing is announced or redrawn.
 * @param {{ title: string, body: (string | Node)[], confirm: string }} question
 * @param {object} steps
 * @param {() => Promise<unknown>} steps.act the request (and whatever shows its answer)
 * @param {string} [steps.done] the announcement; left out when `act` showed the outcome itself
 * @param {() => void} steps.reload redraws what changed
 * @param {(err: unknown) => void} steps.failed shows a refusal where it happened
 * @param {boolean} [steps.focus] false leaves focus where `act` left it
 * @returns {Promise<void>}
 */
export async function confirmThenAct(question, { act, done, reload, failed, focus = true }) {
  if (!(await confirmAction(question))) return;
  try {
    await act();
    if (done) notify(done);
    reload();
    if (focus) focusView();
  } catch (err) {
    failed(err);
  }
}
