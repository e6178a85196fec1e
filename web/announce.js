// Screen reader announcements: few, and merged. They go through #announcer, which is always in the page (a
// live region that appears together with its text is often not announced).
import { $, setText } from "./dom.js";

const ANNOUNCE_EVERY_MS = 1500;

const announcer = { queue: [], timer: null };

export function announce(text) {
  announcer.queue.push(text);
  if (!announcer.timer) announcer.timer = setTimeout(flushAnnouncements, 300);
}

function flushAnnouncements() {
  const text = announcer.queue.splice(0).join(" ");
  if (text) setText($("announcer"), text);
  // Hold the next one back a while, so that a burst of events is read as one sentence.
  announcer.timer = setTimeout(() => {
    announcer.timer = null;
    if (announcer.queue.length) flushAnnouncements();
  }, ANNOUNCE_EVERY_MS);
}
