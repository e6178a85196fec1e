// Small DOM helpers. Text from the server is always set with textContent, never parsed as HTML.

export const $ = (id) => document.getElementById(id);

export function setText(el, text) {
  // Only touch the DOM when the text changes: live regions would re-announce, and it is cheaper.
  const value = text === null || text === undefined ? "" : String(text);
  if (el.textContent !== value) el.textContent = value;
}

export function setAttr(el, name, value) {
  const v = String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}
