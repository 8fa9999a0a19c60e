// A session with `flowrun lsp` through vscode-languageserver-protocol, the
// library under vscode-languageclient: the framing and messages VS Code
// uses. Run it with `npm install && npm run smoke` (FLOWRUN=path/to/flowrun,
// default `flowrun` on PATH); it is not part of `go test`.
const cp = require('child_process');
const path = require('path');
const fs = require('fs');
const rpc = require('vscode-languageserver-protocol/node');

const flowrun = process.env.FLOWRUN || 'flowrun';
const project = path.resolve(__dirname, '..', '..', '..', 'connectors', 'okta');
const file = path.join(project, 'flows', 'get_user.yaml');
const uri = 'file://' + file;

function check(ok, what) {
  if (!ok) {
    console.error('FAIL: ' + what);
    process.exitCode = 1;
  } else {
    console.log('ok: ' + what);
  }
}

async function main() {
  const child = cp.spawn(flowrun, ['lsp', '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const conn = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const diags = new Map();
  conn.onNotification(rpc.PublishDiagnosticsNotification.type, (p) => diags.set(p.uri, p.diagnostics));
  conn.listen();

  const init = await conn.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null });
  check(init.serverInfo.name === 'flowrun' && init.capabilities.completionProvider, 'initialize');
  await conn.sendNotification(rpc.InitializedNotification.type, {});

  let text = fs.readFileSync(file, 'utf8');
  await conn.sendNotification(rpc.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'yaml', version: 1, text } });
  // a typo in the buffer: the server reports it (a request flushes the edit)
  text = text.replace('call: check_response', 'call: check_respons');
  await conn.sendNotification(rpc.DidChangeTextDocumentNotification.type, { textDocument: { uri, version: 2 }, contentChanges: [{ text }] });
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('call: check_respons'));
  const list = await conn.sendRequest(rpc.CompletionRequest.type, { textDocument: { uri }, position: { line, character: lines[line].length } });
  check(list.items.map((i) => i.label).join() === 'check_response', 'completion after call:');
  const ds = diags.get(uri) || [];
  check(ds.length === 1 && ds[0].message === 'call: no flow named "check_respons" (hint: did you mean "check_response"?)' &&
    ds[0].range.start.line === line && ds[0].range.start.character === 10, 'diagnostics');
  const hline = lines.findIndex((l) => l.includes('urlEncode'));
  const hover = await conn.sendRequest(rpc.HoverRequest.type, { textDocument: { uri }, position: { line: hline, character: lines[hline].indexOf('urlEncode') + 2 } });
  check(hover && hover.contents.value.startsWith('```\nurlEncode(s string) string'), 'hover');

  await conn.sendRequest(rpc.ShutdownRequest.type);
  await conn.sendNotification(rpc.ExitNotification.type);
  const code = await exited;
  check(code === 0, 'exit status 0 after shutdown and exit');
  conn.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
