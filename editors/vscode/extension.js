// The flowrun extension: runs `flowrun lsp` for connector projects
// (connector.yaml, flows/**, tests/**) and lets vscode-languageclient do the
// rest. Set "flowrun.path" when flowrun is not on PATH.
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('flowrun').get('path') || 'flowrun';
  const serverOptions = { command, args: ['lsp'], transport: TransportKind.stdio };
  const yaml = (pattern) => ({ scheme: 'file', language: 'yaml', pattern });
  const clientOptions = {
    documentSelector: [
      yaml('**/connector.yaml'),
      yaml('**/flows/**/*.{yaml,yml}'),
      yaml('**/tests/**/*.{yaml,yml}'),
    ],
    // files changed outside the editor (a checkout) re-check their project
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml}') },
  };
  client = new LanguageClient('flowrun', 'flowrun', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
