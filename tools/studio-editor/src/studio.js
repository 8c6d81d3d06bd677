// The Studio's editor: turns a <textarea> into CodeMirror 6 with YAML, completion and hover from the
// process JSON Schema, and the server's problems (POST /studio/check, via `options.check`) as lint
// marks at their lines. Without JavaScript the page keeps the plain textarea, which this keeps in sync.
import { EditorState } from "@codemirror/state";
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  hoverTooltip,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { autocompletion, completionKeymap, closeBrackets } from "@codemirror/autocomplete";
import { linter, lintGutter, lintKeymap } from "@codemirror/lint";
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from "@codemirror/language";
import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { yamlCompletion, yamlSchemaHover, yamlSchemaLinter } from "codemirror-json-schema/yaml";
import { stateExtensions, handleRefresh } from "codemirror-json-schema";

export const CHECK_DELAY_MS = 400;

// A problem as POST /studio/check returns it (line, column and end count from 1) → a lint diagnostic.
export function diagnostic(doc, problem) {
  const line = doc.line(Math.min(Math.max(problem.line || 1, 1), doc.lines));
  const from = Math.min(line.from + Math.max((problem.column || 1) - 1, 0), line.to);
  const endLine = problem.end ? doc.line(Math.min(Math.max(problem.end.line, 1), doc.lines)) : line;
  let to = problem.end ? Math.min(endLine.from + Math.max(problem.end.column - 1, 0), endLine.to) : from + 1;
  if (to <= from) to = Math.min(from + 1, doc.length);
  return {
    from,
    to,
    severity: problem.severity === "warning" ? "warning" : "error",
    source: problem.code || "procflow",
    message: problem.message,
  };
}

// The server's check as a lint source: CodeMirror runs it `CHECK_DELAY_MS` after the last keystroke.
function serverLinter(check, onChecked) {
  let latest = 0;
  return linter(
    async (view) => {
      const text = view.state.doc.toString();
      const asked = ++latest;
      let result;
      try {
        result = await check(text);
      } catch (error) {
        if (onChecked) onChecked(null, error);
        return [];
      }
      if (asked !== latest || view.state.doc.toString() !== text) return []; // a newer check is on its way
      if (onChecked) onChecked(result, null);
      return (result.problems || []).map((p) => diagnostic(view.state.doc, p));
    },
    { delay: CHECK_DELAY_MS },
  );
}

// mount(textarea, {schema, check, onChange, onChecked}) → {view, getText, setText, destroy}
// * schema: the process JSON Schema (an object): completion and hover; without `check`, also its lint.
// * check(text) → Promise of POST /studio/check's JSON: its problems become the lint marks.
// * onChange(text): after every edit. onChecked(result, error): after every check.
export function mount(textarea, options = {}) {
  const { schema, check, onChange, onChecked } = options;
  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    highlightActiveLine(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    yaml(),
    lintGutter(),
    autocompletion({ activateOnTyping: true }),
    keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
    EditorView.lineWrapping,
    EditorView.updateListener.of((update) => {
      if (!update.docChanged) return;
      const text = update.state.doc.toString();
      textarea.value = text;
      if (onChange) onChange(text);
    }),
  ];
  if (schema) {
    extensions.push(
      stateExtensions(schema),
      yamlLanguage.data.of({ autocomplete: yamlCompletion() }),
      hoverTooltip(yamlSchemaHover()),
    );
    if (!check) extensions.push(linter(yamlSchemaLinter(), { needsRefresh: handleRefresh, delay: CHECK_DELAY_MS }));
  }
  if (check) extensions.push(serverLinter(check, onChecked));
  const view = new EditorView({
    state: EditorState.create({ doc: textarea.value, extensions }),
  });
  textarea.insertAdjacentElement("afterend", view.dom);
  view.dom.classList.add("procflow-studio-editor");
  textarea.hidden = true;
  return {
    view,
    getText: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    destroy() {
      view.destroy();
      textarea.hidden = false;
    },
  };
}
