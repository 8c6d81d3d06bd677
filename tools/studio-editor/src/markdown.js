// The schema's descriptions, rendered for hovers in place of codemirror-json-schema's markdown-it plus
// Shiki (megabytes, and grammars loaded at run time): every character escaped, `code` spans kept.
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function renderMarkdown(markdown, inline = true) {
  const html = escapeHtml(markdown).replace(/`([^`]+)`/g, "<code>$1</code>");
  return inline ? html : `<p>${html.replace(/\n{2,}/g, "</p><p>")}</p>`;
}
