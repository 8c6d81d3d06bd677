// The Studio page (templates/studio.html): the textarea becomes the editor (static/studio.js); each
// change is checked by POST /studio/check (the editor debounces it), whose problems are listed and
// marked at their lines and whose chart replaces the one shown; "Diff" and "Publish" post the draft.
// Plain JavaScript, no build. Without it the page is a plain textarea.
//
// SVG from the server is never put into this document: it is shown as an <img> of a blob URL, where
// no script in it runs and nothing it links is loaded (the renderer escapes user text besides).
(function () {
  "use strict";

  const root = document.getElementById("studio");
  if (!root || !window.procflowStudio) return;
  const textarea = document.getElementById("studio-text");
  const problemsList = document.getElementById("studio-problems");
  const status = document.getElementById("studio-status");
  const chart = document.getElementById("studio-chart");
  const diffBox = document.getElementById("studio-diff");
  const diffChanges = document.getElementById("studio-changes");
  const publishBox = document.getElementById("studio-published");
  const urls = {
    check: root.dataset.checkUrl,
    diff: root.dataset.diffUrl,
    publish: root.dataset.publishUrl,
  };
  const csrf = root.dataset.csrf || "";
  const words = JSON.parse(document.getElementById("studio-words").textContent);
  const schemaNode = document.getElementById("studio-schema");
  const schema = schemaNode ? JSON.parse(schemaNode.textContent) : undefined;
  const shown = new Map(); // element → its blob URL, revoked when replaced

  function post(url, text) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/yaml", Accept: "application/json", "X-CSRF-Token": csrf },
      body: text,
    }).then((response) => response.json().then((body) => ({ status: response.status, body })));
  }

  function showSvg(box, svg) {
    const old = shown.get(box);
    if (old) URL.revokeObjectURL(old);
    box.replaceChildren();
    if (!svg) return;
    const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    shown.set(box, url);
    const img = document.createElement("img");
    img.src = url;
    img.alt = words.chart;
    box.append(img);
  }

  function listProblems(problems) {
    problemsList.replaceChildren(
      ...problems.map((p) => {
        const item = document.createElement("li");
        item.className = p.severity;
        const place = document.createElement("a");
        place.href = "#";
        place.textContent = `${p.line}:${p.column}`;
        place.addEventListener("click", (event) => {
          event.preventDefault();
          const line = editor.view.state.doc.line(Math.min(p.line, editor.view.state.doc.lines));
          editor.view.dispatch({ selection: { anchor: line.from + p.column - 1 }, scrollIntoView: true });
          editor.view.focus();
        });
        item.append(place, ` ${p.severity}: ${p.message}`); // text, never markup
        return item;
      }),
    );
  }

  function onChecked(result, error) {
    if (error || !result) {
      status.textContent = words.unreachable;
      return;
    }
    listProblems(result.problems || []);
    status.textContent = result.valid ? words.valid : words.invalid;
    if (result.valid) showSvg(chart, result.svg); // the chart stays the last valid one otherwise
  }

  async function check(text) {
    const answer = await post(urls.check, text);
    if (answer.status !== 200) throw new Error(answer.body.detail || String(answer.status));
    return answer.body;
  }

  function refusal(answer) {
    if (answer.body.errors) listProblems(answer.body.errors);
    return `${answer.status}: ${answer.body.detail || ""}`;
  }

  const editor = window.procflowStudio.mount(textarea, { schema, check, onChecked });
  window.procflowStudioPage = { editor };

  const diffButton = document.getElementById("studio-diff-button");
  if (diffButton && urls.diff) {
    diffButton.addEventListener("click", async () => {
      const answer = await post(urls.diff, editor.getText());
      if (answer.status !== 200) {
        diffChanges.textContent = refusal(answer);
        showSvg(diffBox, null);
        return;
      }
      const head = document.createElement("p");
      head.textContent = answer.body.identical
        ? `${words.same} ${answer.body.published.revision}`
        : `${words.against} ${answer.body.published.revision}:`;
      const list = document.createElement("ul");
      list.append(...answer.body.lines.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
      diffChanges.replaceChildren(head, list);
      showSvg(diffBox, answer.body.svg);
    });
  }

  const publishButton = document.getElementById("studio-publish-button");
  if (publishButton && urls.publish) {
    publishButton.addEventListener("click", async () => {
      if (!window.confirm(words.confirm)) return;
      const answer = await post(urls.publish, editor.getText());
      publishBox.replaceChildren();
      if (answer.status !== 201 && answer.status !== 200) {
        publishBox.textContent = refusal(answer);
        return;
      }
      const body = answer.body;
      const head = document.createElement("p");
      head.textContent = body.created
        ? `${words.published} ${body.revision.revision}`
        : `${words.unchanged} ${body.revision.revision}`;
      publishBox.append(head);
      if (body.impact) {
        const impact = document.createElement("p");
        impact.textContent = `${words.impact}: ${body.impact.touched} / ${body.impact.checked}`;
        publishBox.append(impact);
      }
      if (body.plan) {
        const plan = document.createElement("pre");
        plan.textContent = body.plan;
        publishBox.append(plan);
      }
    });
  }
})();
